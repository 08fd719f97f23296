#include "core/flow_start.h"

#include "core/id_token.h"
#include "core/pkce.h"
#include "core/provider_requests.h"
#include "core/url_encoding.h"

namespace tokend {

std::string check_user_id(std::string_view user_id) {
    if (user_id.empty()) return "user_id is empty";
    if (user_id.size() > 256) return "user_id is longer than 256 bytes";
    for (unsigned char c : user_id) {
        if (c < 0x20 || c == 0x7f) return "user_id contains a control character";
    }
    return {};
}

StartedFlow start_flow(const OAuthSettings& oauth, const FlowSettings& flows, std::string_view user_id,
                       Timestamp now, std::string_view id_random, std::string_view verifier_random, bool pkce) {
    StartedFlow started;
    started.flow_id = make_flow_id(id_random);
    started.state.user_id = std::string(user_id);
    started.state.created = now;
    started.expires_at = now + flows.ttl;

    const std::string scope = joined_scopes(oauth);
    FormFields query = {{"client_id", oauth.client_id},
                        {"response_type", "code"},
                        {"redirect_uri", oauth.redirect_url},
                        {oauth.provider.scope_param, scope},
                        {"state", started.flow_id}};
    if (oauth.pkce && pkce) {
        started.state.code_verifier = Secret(make_code_verifier(verifier_random));
        query.emplace_back("code_challenge", s256_challenge(started.state.code_verifier->reveal()));
        query.emplace_back("code_challenge_method", "S256");
    }
    // OpenID Connect: the nonce the id_token must carry, derived from the flow
    // id (core/id_token.h: oidc_nonce), so nothing more is stored.
    if (oauth.provider.openid.identity_source == IdentitySource::id_token) {
        query.emplace_back("nonce", oidc_nonce(started.flow_id));
    }
    for (const auto& param : oauth.provider.authorize_params) query.push_back(param);
    const char joiner = oauth.auth_service.find('?') == std::string::npos ? '?' : '&';
    started.auth_url = oauth.auth_service + joiner + form_encode(query);
    return started;
}

}  // namespace tokend
