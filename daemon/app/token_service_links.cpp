// Auth links (core/auth_link.h): auth_link signs one, GET /auth opens it and
// starts a fresh flow (PKCE on) for its user, and the re-auth message carries
// one, so that a person who reads the message hours later still gets in. The
// identity check at the end of the flow binds the grant to the link's user.
#include "app/token_service.h"

#include "core/text_template.h"

#include <spdlog/spdlog.h>

namespace tokend {

std::string TokenService::link_base() const {
    return config_.links.url.empty() ? default_link_url(oauth_.redirect_url) : config_.links.url;
}

Json TokenService::link_stats() const {
    return {{"issued", counters_.links_issued},
            {"opened", counters_.links_opened},
            {"expired", counters_.links_expired},
            {"invalid", counters_.links_invalid}};
}

void TokenService::auth_link(const std::string& user_id, OpCallback done) {
    if (!config_.integration.configured) {
        done(OpResult::failure(ErrorCode::bad_request, "no OAuth integration is configured (see 'integration' in the configuration)"));
        return;
    }
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (link_key_.empty()) {
        done(OpResult::failure(ErrorCode::internal, "no key for auth links was loaded"));
        return;
    }
    // Whole seconds: the link carries its expiry as a Unix time.
    const Timestamp expires = std::chrono::floor<std::chrono::seconds>(clock_.now() + config_.links.ttl);
    ++counters_.links_issued;
    spdlog::info("user {}: auth link issued, valid until {}", user_id, format_iso8601(expires));
    done(OpResult::success({{"url", auth_link_url(link_base(), link_key_, user_id, expires)},
                            {"expires_at", format_iso8601(expires)}}));
}

void TokenService::open_auth_link(std::string_view query, bool head, std::function<void(LinkAnswer)> done) {
    if (!config_.integration.configured || link_key_.empty()) {
        done({"", {503, "Not available", "Authorization links are not available here. Please ask the bot for help."}});
        return;
    }
    const LinkCheck check = verify_auth_link(link_key_, query, clock_.now());
    if (check.status == LinkCheck::Status::invalid) {
        ++counters_.links_invalid;
        spdlog::warn("auth link refused: {}", check.detail);
        done({"", link_page(check.status)});
        return;
    }
    if (check.status == LinkCheck::Status::expired) {
        ++counters_.links_expired;
        spdlog::info("user {}: auth link expired at {}; refused", check.user_id, format_iso8601(check.expires_at));
        done({"", link_page(check.status)});
        return;
    }
    if (head) {  // link checkers and previews: nothing starts
        done({"", {200, "Authorization link", "Open this link in a browser to authorize the bot."}});
        return;
    }
    if (draining_) {
        done({"", {503, "Try again", "tokend is restarting. Please open the link again in a moment."}});
        return;
    }
    auto flow = std::make_shared<StartedFlow>(start_flow_for(check.user_id));
    track(+1);
    executor_.submit<StoreStatus>(
        [this, flow] { return store_.put(Ns::flow, flow->flow_id, to_stored_text(flow->state)); },
        [this, flow, done = std::move(done)](StoreStatus status) {
            note_store(status);
            if (!status.ok()) {
                spdlog::error("user {}: cannot store a flow for an auth link: {}", flow->state.user_id, status.describe());
                done({"", {503, "Try again", "The authorization could not be started. Please open the link again in a moment."}});
            } else {
                ++counters_.flows_started;
                ++counters_.links_opened;
                spdlog::info("user {}: flow {} started from an auth link, expires {}", flow->state.user_id,
                             flow->flow_id, format_iso8601(flow->expires_at));
                done({flow->auth_url, {302, "Redirecting", "Continue to the identity provider."}});
                sweep_in_background();
            }
            track(-1);
        });
}

// One bot message per dead grant, with an auth link (or, without a key, a
// fresh flow's URL, stored first).
void TokenService::tell_reauth(const std::string& user_id) {
    if (!config_.integration.configured || bot_token_.empty()) {
        spdlog::warn("user {}: must authorize again; no bot token configured to tell them", user_id);
        return;
    }
    if (!link_key_.empty()) {
        const Timestamp expires = std::chrono::floor<std::chrono::seconds>(clock_.now() + config_.links.ttl);
        ++counters_.links_issued;
        spdlog::info("user {}: auth link sent for reauthorization, valid until {}", user_id, format_iso8601(expires));
        send_bot_message(BotMessage{user_id, fill_template(config_.messages.reauth_required,
                                                           {{"auth_url", auth_link_url(link_base(), link_key_, user_id, expires)},
                                                            {"expires_at", format_iso8601(expires)}})});
        return;
    }
    auto flow = std::make_shared<StartedFlow>(start_flow_for(user_id));
    track(+1);
    executor_.submit<StoreStatus>(
        [this, flow] { return store_.put(Ns::flow, flow->flow_id, to_stored_text(flow->state)); },
        [this, flow](StoreStatus status) {
            note_store(status);
            if (!status.ok()) {
                spdlog::error("user {}: cannot store a flow for the reauthorization message: {}", flow->state.user_id,
                              status.describe());
            } else {
                ++counters_.flows_started;
                spdlog::info("user {}: flow {} started for reauthorization, expires {}", flow->state.user_id,
                             flow->flow_id, format_iso8601(flow->expires_at));
                send_bot_message(BotMessage{flow->state.user_id,
                                            fill_template(config_.messages.reauth_required,
                                                          {{"auth_url", flow->auth_url},
                                                           {"expires_at", format_iso8601(flow->expires_at)}})});
            }
            track(-1);
        });
}

}  // namespace tokend
