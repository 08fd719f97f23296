// What tokend needs to know of an OAuth provider beyond the endpoints, as
// data: how the client authenticates at the token endpoint, how scopes are
// joined, where the tokens sit in a token answer, how tokend learns whose
// tokens these are, how a user is messaged (if at all) and how the answer
// says it was, how the provider says
// a grant is dead, and whether refresh tokens rotate. The endpoints and PKCE
// are OAuthSettings' (auth_service, token_service, api_base, pkce), which a
// preset sets too. Presets are built in (provider_presets.cpp); the
// configuration picks one and overrides its fields. Interpreted by
// core/provider_requests.h; no I/O here.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tokend {

enum class ClientAuth {
    client_secret_post,   // client_id and client_secret in the form body (Webex, GitHub, Microsoft, Slack)
    client_secret_basic,  // HTTP Basic with the form-encoded id and secret (RFC 6749 2.3.1)
};

// The request that tells whose tokens these are: GET `url` with the new
// access token as a bearer. Paths are dotted ("emails.0", "user.id"): object
// keys, or indices into arrays.
struct IdentityRequest {
    std::string url = "{api_base}/people/me";  // {api_base} is replaced
    std::string user_id_path = "id";           // a non-empty string
    std::string display_path = "emails.0";     // shown on the wrong-user page; may be empty
    bool numeric_user_id = false;              // the id may be a whole number instead (GitHub's), read as decimal text
    bool operator==(const IdentityRequest&) const = default;
};

// How a user is messaged with the bot token: POST `url` with `body`, a JSON
// template whose strings have {user_id} and {text} replaced. An empty url:
// this provider has no such request, and only the events tell the bot.
struct MessageRequest {
    std::string url = "{api_base}/messages";
    nlohmann::ordered_json body = {{"toPersonId", "{user_id}"}, {"markdown", "{text}"}};
    bool operator==(const MessageRequest&) const = default;
};

// How a message request's answer says the message was posted, beyond a 2xx
// status: Slack's chat.postMessage answers HTTP 200 with {"ok": false,
// "error": "..."} when it posted nothing. `ok_path`: the dotted path of a
// member that must be JSON true; empty: the status alone decides.
// `retry_errors`: the top-level `error` codes of a false answer after which
// the message is sent again (with the usual backoff); only codes that say
// nothing was posted, since a retry after any other may post it twice.
struct MessageAnswer {
    std::string ok_path;
    std::vector<std::string> retry_errors;
    bool operator==(const MessageAnswer&) const = default;
};

// A token endpoint answer means the grant is dead (refresh tokens spent,
// expired or revoked: the user must authorize again) when its `error` is one
// of `errors`, whatever the HTTP status (GitHub answers 200), or when its
// status is one of `statuses`.
struct DeadGrantRule {
    std::vector<std::string> errors = {"invalid_grant"};
    std::vector<int> statuses;
    bool operator==(const DeadGrantRule&) const = default;
};

// RFC 7009 token revocation, used by the sign_out op: POST `url` (may start
// with {api_base}) with `token` and `token_type_hint`, the client
// authenticated as at the token endpoint (client_auth). The refresh token is
// revoked when there is one (revoking it ends the grant, access tokens
// included, RFC 7009 2.1), else the access token. An empty url: the provider
// has no such endpoint, and a sign-out only clears the context here.
struct RevocationRequest {
    std::string url;
    bool operator==(const RevocationRequest&) const = default;
};

// Where the user id comes from: the identity request, or the OpenID Connect
// id_token of the code-exchange answer (core/id_token.h), verified with the
// keys at `jwks_uri` and checked against `issuer`, the client id and the
// flow's nonce (sent in the authorization request).
enum class IdentitySource { request, id_token };

struct OpenIdSettings {
    IdentitySource identity_source = IdentitySource::request;
    std::string issuer;    // iss, exactly as the provider writes it
    std::string jwks_uri;  // the provider's signing keys (RFC 7517)
    // Of the id_token's claims, `sub` is the user id and `email` (else `name`)
    // what the wrong-user page shows.
    bool operator==(const OpenIdSettings&) const = default;
};

// The generic `oidc` preset: the endpoints, PKCE, client authentication,
// signing keys and revocation come from the issuer's discovery document
// (core/oidc_discovery.h), fetched at start (app/oidc_discovery.h). What the
// configuration set itself is kept: the document fills only the rest.
struct DiscoverySettings {
    bool enabled = false;  // openid.issuer is the issuer to ask
    bool auth_service_set = false;
    bool token_service_set = false;
    bool jwks_uri_set = false;
    bool pkce_set = false;
    bool client_auth_set = false;
    bool revocation_set = false;  // a url, or none
    bool operator==(const DiscoverySettings&) const = default;
};

struct ProviderProfile {
    std::string name = "webex";  // the preset it started from; for logs and --check-config
    ClientAuth client_auth = ClientAuth::client_secret_post;
    std::string scope_separator = " ";
    // The authorization request's parameter that carries the scopes: "scope",
    // or Slack's "user_scope" (the scopes of a user token; Slack's `scope`
    // asks for a bot token's).
    std::string scope_param = "scope";
    // Where the tokens sit in a code-exchange answer ("authed_user": Slack's
    // user token); empty: at the top level. A refresh answer without it is
    // read at the top level.
    std::string token_path;
    IdentityRequest identity;
    MessageRequest message;
    MessageAnswer message_answer;
    DeadGrantRule dead_grant;
    // Each refresh answer carries a new refresh token and the spent one stops
    // working (GitHub) or should no longer be used (Microsoft): an answer
    // without one is logged, as the next refresh may then fail.
    bool rotating_refresh_tokens = false;
    // The scopes are sent again with each refresh (Entra ID v2 requires `scope`
    // on the refresh_token grant).
    bool refresh_sends_scope = false;
    RevocationRequest revocation;  // none unless the provider documents an RFC 7009 endpoint
    // OpenID Connect: the id_token as the identity (core/id_token.h).
    OpenIdSettings openid;
    // Extra parameters of the authorization request, after the standard ones
    // (Google: access_type=offline for a refresh token, prompt=consent).
    std::vector<std::pair<std::string, std::string>> authorize_params;
    // The oidc preset's discovery; off for the others.
    DiscoverySettings discovery;

    bool operator==(const ProviderProfile&) const = default;
};

}  // namespace tokend
