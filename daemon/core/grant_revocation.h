// Sign-out at the provider (RFC 7009 token revocation) and the status of a
// user's grant, decided with no I/O: which token to revoke and the request
// that revokes it, the provider's answer read into an outcome, and what a bot
// may know of a grant (never a token). The edge (app/sign_out) sends the
// request through the outbound sender.
#pragma once

#include "core/oauth_settings.h"
#include "core/provider_requests.h"
#include "core/refresh_policy.h"
#include "core/tokens.h"

#include <optional>
#include <string>
#include <string_view>

namespace tokend {

enum class RevocationOutcome {
    revoked,        // the provider answered 200 (RFC 7009 2.2: also for a token it no longer knew)
    not_supported,  // the profile has no revocation endpoint: cleared here only
    no_token,       // there was no context, or no token in it: nothing to revoke
    failed,         // the provider refused or did not answer (status, reason)
};
std::string_view to_string(RevocationOutcome outcome);

// The token a sign-out revokes: the refresh token (hint "refresh_token"),
// else the access token ("access_token"); nullopt when there is neither.
struct RevocationTarget {
    Secret token;
    std::string hint;
};
std::optional<RevocationTarget> revocation_target(const Tokens& tokens);

// The POST to the profile's revocation URL with `token` and `token_type_hint`,
// the client authenticated as at the token endpoint. Sent once (not retried:
// the caller waits for the outcome, and the context is already cleared).
// Requires a revocation URL in the profile.
OutboundHttp revocation_request(const OAuthSettings& oauth, const RevocationTarget& target);

struct RevocationAnswer {
    RevocationOutcome outcome = RevocationOutcome::failed;
    int status = 0;      // the HTTP status; 0: no answer
    std::string reason;  // failed: "HTTP 503", "HTTP 400 invalid_client", the transport error; never the body's text
    // 400 unsupported_token_type (RFC 7009 2.2.1) to a refresh token: the
    // provider revokes only access tokens, so send the access token instead.
    bool try_access_token = false;
};
// status 0: no answer, transport_error says why (host and reason, no secret).
RevocationAnswer read_revocation_answer(const RevocationTarget& sent, int status, std::string_view body,
                                        std::string_view transport_error);

// What a bot may know of a user's grant (the grant_status op).
struct GrantStatus {
    bool context = false;               // tokend holds a context for the user
    bool access_token_valid = false;    // an access token that has not expired
    bool access_token_fresh = false;    // ... with more than the read margin left: get_token answers from memory
    std::optional<Timestamp> expires_at;
    bool refreshable = false;           // a refresh token that tokend has not found dead
    std::optional<Timestamp> refresh_token_expires_at;
    bool reauth_required = false;       // neither a valid access token nor a refresh token: authorize again
    uint32_t refresh_failures = 0;      // refresh attempts failed in a row (passing failures, retried)
};
// context: the user's tokens, or nullptr when there is no context.
GrantStatus grant_status(const Tokens* tokens, uint32_t refresh_failures, Timestamp now, const RefreshPolicy& policy);

}  // namespace tokend
