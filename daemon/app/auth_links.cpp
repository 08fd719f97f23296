#include "app/auth_links.h"

#include "core/flow_start.h"

#include <spdlog/spdlog.h>

namespace tokend {

std::string AuthLinks::base() const {
    const std::string& url = runtime_.config().links.url;
    return url.empty() ? default_link_url(oauth_.redirect_url) : url;
}

SignedLink AuthLinks::sign(const std::string& user_id) {
    // Whole seconds: the link carries its expiry as a Unix time.
    const Timestamp expires = std::chrono::floor<std::chrono::seconds>(runtime_.now() + runtime_.config().links.ttl);
    ++runtime_.counters_of(user_id).links_issued;
    return {auth_link_url(base(), key_, user_id, expires), expires};
}

OpResult<SignedLink> AuthLinks::issue(const std::string& user_id) {
    if (!runtime_.config().integration.configured) {
        return OpResult<SignedLink>::failure(
            ErrorCode::bad_request, "no OAuth integration is configured (see 'integration' in the configuration)");
    }
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        return OpResult<SignedLink>::failure(ErrorCode::bad_request, problem);
    }
    if (key_.empty()) return OpResult<SignedLink>::failure(ErrorCode::internal, "no key for auth links was loaded");
    SignedLink link = sign(user_id);
    spdlog::info("user {}: auth link issued, valid until {}", user_id, format_iso8601(link.expires_at));
    return OpResult<SignedLink>::success(std::move(link));
}

LinkCheck AuthLinks::check(std::string_view query) {
    LinkCheck check = verify_auth_link(key_, query, runtime_.now());
    if (check.status == LinkCheck::Status::invalid) {
        ++runtime_.counters().unattributed().links_invalid;
        spdlog::warn("auth link refused: {}", check.detail);
    } else if (check.status == LinkCheck::Status::expired) {
        ++runtime_.counters_of(check.user_id).links_expired;
        spdlog::info("user {}: auth link expired at {}; refused", check.user_id, format_iso8601(check.expires_at));
    }
    return check;
}

}  // namespace tokend
