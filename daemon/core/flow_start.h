// start_flow: a new pending flow for a user, its id (the OAuth state), the PKCE
// verifier kept server-side, and the authorization URL to send the user to.
#pragma once

#include "core/flow_state.h"
#include "core/oauth_settings.h"

#include <string>
#include <string_view>

namespace tokend {

struct StartedFlow {
    std::string flow_id;
    FlowState state;      // what is stored under the flow id (holds the verifier)
    std::string auth_url;
    Timestamp expires_at;
};

// Why a user id cannot be used, or empty if it can: 1 to 256 bytes of UTF-8
// without control characters (it ends up in keys, URLs and log lines).
std::string check_user_id(std::string_view user_id);

// id_random and verifier_random come from a CSPRNG (kFlowIdBytes and
// kCodeVerifierBytes long). The URL is the original's, plus code_challenge and
// code_challenge_method when PKCE is on (oauth.pkce, and the caller did not ask
// for a flow without it: pkce false, a legacy caller that builds the URL itself).
StartedFlow start_flow(const OAuthSettings& oauth, const FlowSettings& flows, std::string_view user_id,
                       Timestamp now, std::string_view id_random, std::string_view verifier_random,
                       bool pkce = true);

}  // namespace tokend
