#include "core/provider_presets.h"

namespace tokend {
namespace {

struct Preset {
    std::string_view name;
    void (*apply)(OAuthSettings* oauth);
};

// As the original: Webex's endpoints, people/me and its id, messages by toPersonId.
void webex(OAuthSettings* oauth) {
    const OAuthSettings defaults;
    oauth->auth_service = defaults.auth_service;
    oauth->token_service = defaults.token_service;
    oauth->api_base = defaults.api_base;
    oauth->pkce = true;
    oauth->provider = ProviderProfile{};
}

// A GitHub App with expiring user tokens (docs.github.com: "Generating a user
// access token for a GitHub App", "Refreshing user access tokens"). GitHub
// answers token-endpoint errors with HTTP 200; a refresh token works once.
// Users have numeric ids; there is no message request for a user.
void github(OAuthSettings* oauth) {
    oauth->auth_service = "https://github.com/login/oauth/authorize";
    oauth->token_service = "https://github.com/login/oauth/access_token";
    oauth->api_base = "https://api.github.com";
    oauth->pkce = true;  // S256 accepted since July 2025
    ProviderProfile profile;
    profile.name = "github";
    profile.identity = {"{api_base}/user", "id", "login", true};
    profile.message = {"", nullptr};
    profile.dead_grant = {{"bad_refresh_token", "invalid_grant"}, {}};
    profile.rotating_refresh_tokens = true;
    oauth->provider = std::move(profile);
}

// Microsoft Entra ID, v2 endpoints of the multi-tenant "common" authority
// (a single tenant: override auth_service and token_service), the user from
// Microsoft Graph /me. Each refresh answer carries a new refresh token.
// `offline_access` must be among the scopes for a refresh token at all.
void microsoft(OAuthSettings* oauth) {
    oauth->auth_service = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
    oauth->token_service = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
    oauth->api_base = "https://graph.microsoft.com/v1.0";
    oauth->pkce = true;
    ProviderProfile profile;
    profile.name = "microsoft";
    profile.identity = {"{api_base}/me", "id", "userPrincipalName", false};
    profile.message = {"", nullptr};
    // interaction_required: consent withdrawn or a new MFA/conditional-access
    // demand, which only the user in a browser can answer.
    profile.dead_grant = {{"invalid_grant", "interaction_required"}, {}};
    profile.rotating_refresh_tokens = true;
    profile.refresh_sends_scope = true;
    oauth->provider = std::move(profile);
}

// Google, OpenID Connect (developers.google.com/identity/openid-connect/
// openid-connect, "Using OAuth 2.0 for Web Server Applications"): the user is
// the id_token's `sub`, verified with Google's JWKS. access_type=offline asks
// for a refresh token, which Google gives only at a consent: prompt=consent
// asks for consent each time, so each flow's exchange carries one. Refresh
// tokens do not rotate (a refresh answer has none: the stored one is kept).
// There is no request to message a user (Google Chat bots answer in spaces).
// Google's revocation endpoint takes RFC 7009's request (a POST of `token`);
// revoking either token ends the grant.
void google(OAuthSettings* oauth) {
    oauth->auth_service = "https://accounts.google.com/o/oauth2/v2/auth";
    oauth->token_service = "https://oauth2.googleapis.com/token";
    oauth->api_base = "https://openidconnect.googleapis.com/v1";
    oauth->pkce = true;
    ProviderProfile profile;
    profile.name = "google";
    profile.identity = {"{api_base}/userinfo", "sub", "email", false};  // not used: the id_token is the identity
    profile.message = {"", nullptr};
    profile.dead_grant = {{"invalid_grant"}, {}};
    profile.openid.identity_source = IdentitySource::id_token;
    profile.openid.issuer = "https://accounts.google.com";
    profile.openid.jwks_uri = "https://www.googleapis.com/oauth2/v3/certs";
    profile.authorize_params = {{"access_type", "offline"}, {"prompt", "consent"}};
    profile.revocation.url = "https://oauth2.googleapis.com/revoke";
    oauth->provider = std::move(profile);
}

// Slack, OAuth v2 user tokens (docs.slack.dev: "Installing with OAuth",
// oauth.v2.access, "Using token rotation", auth.test, chat.postMessage). The
// user scopes go in `user_scope` (Slack's `scope` asks for a bot token) and
// are comma-separated; the code-exchange answer holds the user token under
// `authed_user`, a refresh answer at the top level. Every answer is HTTP 200
// with `ok`; errors are `ok: false` and an `error`. With token rotation on,
// access tokens live 12 hours and each refresh spends its refresh token.
// auth.test with the user token names the user (`user_id`, `user`); the bot
// token messages a user with chat.postMessage to the user id (the DM with the
// app). Slack has no RFC 7009 endpoint (auth.revoke takes the token itself as
// a bearer): no revocation.
void slack(OAuthSettings* oauth) {
    oauth->auth_service = "https://slack.com/oauth/v2/authorize";
    oauth->token_service = "https://slack.com/api/oauth.v2.access";
    oauth->api_base = "https://slack.com/api";
    oauth->pkce = true;  // oauth.v2.access takes code_verifier
    ProviderProfile profile;
    profile.name = "slack";
    profile.scope_separator = ",";
    profile.scope_param = "user_scope";
    profile.token_path = "authed_user";
    profile.identity = {"{api_base}/auth.test", "user_id", "user", false};
    profile.message = {"{api_base}/chat.postMessage", {{"channel", "{user_id}"}, {"text", "{text}"}}};
    // chat.postMessage fails with HTTP 200 and ok:false. Retried only where
    // nothing was posted: ratelimited, service_unavailable. Not internal_error
    // or fatal_error, after which the message may have been posted already.
    profile.message_answer = {"ok", {"ratelimited", "service_unavailable"}};
    // The refresh token is spent, expired or unknown (invalid_refresh_token;
    // invalid_grant as some answers have it), or the user, the workspace or
    // the app's installation is gone (token_revoked, account_inactive).
    // ratelimited, internal_error, fatal_error, service_unavailable: retried.
    profile.dead_grant = {{"invalid_refresh_token", "invalid_grant", "token_revoked", "account_inactive"}, {}};
    profile.rotating_refresh_tokens = true;
    oauth->provider = std::move(profile);
}

// Any OpenID Connect provider (Keycloak, Authentik, Okta, Auth0...): the
// configuration names the issuer (integration.provider.issuer), and the
// endpoints, signing keys, PKCE, client authentication and revocation come
// from its discovery document (core/oidc_discovery.h), fetched at start. The
// user is the id_token's `sub`. Until the document is read, the endpoints are
// empty and the integration refuses to start flows (app/oidc_discovery.h).
// No message request: OpenID Connect has none.
void oidc(OAuthSettings* oauth) {
    oauth->auth_service.clear();
    oauth->token_service.clear();
    oauth->api_base.clear();
    oauth->pkce = false;  // on when the document lists S256
    ProviderProfile profile;
    profile.name = "oidc";
    profile.client_auth = ClientAuth::client_secret_basic;
    profile.identity = {"", "sub", "email", false};  // not used: the id_token is the identity
    profile.message = {"", nullptr};
    profile.dead_grant = {{"invalid_grant"}, {}};
    profile.openid.identity_source = IdentitySource::id_token;
    profile.discovery.enabled = true;
    oauth->provider = std::move(profile);
}

constexpr Preset kPresets[] = {{"webex", webex},   {"github", github}, {"microsoft", microsoft},
                               {"google", google}, {"slack", slack},     {"oidc", oidc}};

}  // namespace

const std::vector<std::string_view>& provider_preset_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> all;
        for (const Preset& preset : kPresets) all.push_back(preset.name);
        return all;
    }();
    return names;
}

bool apply_provider_preset(std::string_view name, OAuthSettings* oauth) {
    for (const Preset& preset : kPresets) {
        if (preset.name == name) {
            preset.apply(oauth);
            return true;
        }
    }
    return false;
}

}  // namespace tokend
