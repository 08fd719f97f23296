// sign_out and grant_status: the edge of core/grant_revocation. A sign-out
// clears the user's context here (UserContexts::clear) and then, when asked,
// revokes the grant at the provider with the tokens the context held: one
// request through the outbound sender, whose outcome goes into the answer, a
// `signed_out` event and the log (never a token). The context is cleared
// whatever the provider answers; a store failure clears nothing and revokes
// nothing. The clear waits for a refresh of the user in flight (single
// flight), so a rotated refresh token is the one revoked. Loop thread only.
#pragma once

#include "app/context_cache.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "app/service_runtime.h"
#include "app/user_contexts.h"
#include "core/integrations.h"

#include <optional>
#include <string>

namespace tokend {

class SignOut {
public:
    // integrations: the service's (secrets filled in), read at each use; a
    // user key's integration revokes its grant.
    SignOut(ServiceRuntime& runtime, ContextCache& cache, UserContexts& contexts, OutboundSender& outbound,
            const IntegrationSet& integrations);

    void sign_out(const std::string& user_id, bool revoke, OpCallback<SignedOut> done);
    void grant_status(const std::string& user_id, OpCallback<GrantStatusAnswer> done) const;

private:
    // fallback: the access token, sent when the provider will not revoke a refresh token.
    void revoke(const std::string& user_id, RevocationTarget target, std::optional<Secret> fallback,
                SignedOut signed_out, OpCallback<SignedOut> done);
    void finish(const std::string& user_id, SignedOut signed_out, const OpCallback<SignedOut>& done);

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    UserContexts& contexts_;
    OutboundSender& outbound_;
    const IntegrationSet& integrations_;
};

}  // namespace tokend
