// Auth links (core/auth_link.h), the service's side: the key that signs them,
// signing one for a user (the auth_link op and the re-auth message) and
// checking one that a browser opened (GET /auth; Flows then starts the flow).
// Counts and logs what it issues and what it refuses. Loop thread only.
#pragma once

#include "app/op_result.h"
#include "app/service_runtime.h"
#include "core/auth_link.h"
#include "core/oauth_settings.h"
#include "core/secret.h"

#include <string>
#include <string_view>

namespace tokend {

class AuthLinks {
public:
    // `oauth` is read at each use (the default link URL derives from its
    // redirect URL), so a reload applies to the next link.
    AuthLinks(ServiceRuntime& runtime, const OAuthSettings& oauth) : runtime_(runtime), oauth_(oauth) {}

    // The key from load_link_key(), before start; without one no link is issued or opened.
    void set_key(Secret key) { key_ = std::move(key); }
    bool available() const { return runtime_.config().integration.configured && !key_.empty(); }

    // The auth_link operation: a link for user_id that works for links.ttl.
    OpResult<SignedLink> issue(const std::string& user_id);
    // A link for the re-auth message (available() must hold).
    SignedLink sign(const std::string& user_id);
    // A link's query, as a browser opened it: valid, expired or invalid (the
    // refusals are counted and logged here).
    LinkCheck check(std::string_view query);

private:
    std::string base() const;

    ServiceRuntime& runtime_;
    const OAuthSettings& oauth_;
    Secret key_;  // signs auth links; empty: none
};

}  // namespace tokend
