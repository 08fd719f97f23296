#include "app/oidc_keys.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tokend {

bool OidcKeys::has_key(const std::string& key_id) const {
    if (!cached_) return false;
    if (key_id.empty()) return true;  // the verifier picks the only key of the token's alg
    return std::any_of(cached_->keys.begin(), cached_->keys.end(),
                       [&](const JsonWebKey& key) { return key.kid == key_id; });
}

void OidcKeys::keys_for(const std::string& jwks_uri, const std::string& key_id, Timestamp now, Done done) {
    if (jwks_uri != cached_uri_) {  // a reload pointed elsewhere: the old keys are not this provider's
        cached_.reset();
        cached_at_.reset();
        last_kid_refetch_.reset();
        cached_uri_ = jwks_uri;
    }
    const bool fresh = cached_at_ && now - *cached_at_ < kMaxAge;
    if (has_key(key_id) && fresh) {
        done(cached_, "");
        return;
    }
    // The cached set lacks the kid: a rotation at the provider, refetched at
    // most once a minute. No set yet, or a stale one: always fetched.
    const bool unknown_kid = cached_ && fresh;
    if (unknown_kid && waiting_.empty()) {
        if (last_kid_refetch_ && now - *last_kid_refetch_ < kMinRefetchInterval) {
            done(cached_, "");  // verification names the unknown kid
            return;
        }
        last_kid_refetch_ = now;
    }
    waiting_.push_back(std::move(done));
    if (waiting_.size() == 1) fetch(jwks_uri, now);
}

void OidcKeys::fetch(const std::string& jwks_uri, Timestamp now) {
    OutboundHttp request;
    request.role = ProviderRole::jwks;
    request.method = "GET";
    request.url = jwks_uri;
    request.retry_allowed = true;
    outbound_.send(request, [this, jwks_uri, now](OutboundResult result) {
        std::string error;
        if (result.status != 200) {
            error = "GET " + jwks_uri + ": " + (result.status == 0 ? result.error : "HTTP " + std::to_string(result.status));
        } else if (auto parsed = parse_jwks(result.body); !parsed) {
            error = jwks_uri + ": " + parsed.error();
        } else if (jwks_uri == cached_uri_) {
            cached_ = std::make_shared<const JsonWebKeySet>(std::move(parsed).value());
            cached_at_ = now;
            spdlog::info("OpenID Connect signing keys fetched from {}: {} key(s)", jwks_uri, cached_->keys.size());
        }
        if (!error.empty()) {
            spdlog::warn("OpenID Connect signing keys not fetched: {}{}", error,
                         cached_ ? "; the keys fetched before stay in use" : "; logins fail until a fetch succeeds");
        }
        std::vector<Done> waiting;
        waiting.swap(waiting_);
        for (Done& done : waiting) {
            if (cached_) {
                done(cached_, "");
            } else {
                done(nullptr, error);
            }
        }
    });
}

}  // namespace tokend
