// What tokend knows about the OAuth integration and the provider's endpoints,
// and the texts it sends users. Defaults are Webex's (the "webex" preset), as
// in the original.
#pragma once

#include "core/provider_profile.h"
#include "core/secret.h"

#include <chrono>
#include <string>
#include <vector>

namespace tokend {

struct OAuthSettings {
    std::string client_id;
    Secret client_secret;
    std::vector<std::string> scopes;
    std::string redirect_url;  // where the provider sends the browser: our GET /redirect
    std::string auth_service = "https://webexapis.com/v1/authorize";
    std::string token_service = "https://webexapis.com/v1/access_token";
    std::string api_base = "https://webexapis.com/v1";  // {api_base} in the identity and message requests
    bool pkce = true;
    // The rest of what tokend knows of the provider (core/provider_profile.h);
    // with the endpoints above, a preset sets it (core/provider_presets.h).
    ProviderProfile provider;
};

struct FlowSettings {
    std::chrono::seconds ttl{300};                   // a pending flow is usable this long
    std::chrono::seconds maintenance_interval{900};  // garbage collection at most this often
    bool allow_without_pkce = true;                  // start_flow may ask for a flow without PKCE (legacy callers)
};

// Texts sent to users through the bot. Placeholders: {expires_at} (ISO 8601),
// {email} (the address of the account that consented), {error} (an RFC 6749
// error code from the provider), {auth_url} (a fresh authorization link, in
// reauth_required).
struct MessageTexts {
    std::string authenticated =
        "You are authenticated: I can now act on your behalf. Your access token is valid until {expires_at}.";
    std::string wrong_user =
        "tokens for wrong user: {email}. Nothing was stored; please sign in with your own account.";
    std::string denied = "You declined the authorization, so nothing was stored. Ask me again if you change your mind.";
    std::string provider_error =
        "The authorization could not be completed ({error}). Nothing was stored; please ask me for a new link.";
    std::string expired = "That authorization link had expired. Please ask me for a new one.";
    std::string store_failed = "Your authorization succeeded but could not be saved. Please ask me for a new link.";
    std::string reauth_required =
        "Your authorization has expired or was revoked, so I can no longer act on your behalf. "
        "Please authorize me again: {auth_url} (the link works until {expires_at}).";
};

}  // namespace tokend
