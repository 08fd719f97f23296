// integration.provider: presets, overrides and the errors --check-config reports.
#include "config/config.h"
#include "core/provider_requests.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

const ConfigEnvironment kNoSystemd{};
const std::string kHead =
    "integration:\n  client_id: C\n  redirect_url: https://bot.example/redirect\n";

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "tokend.yml", kNoSystemd);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

TEST(ProviderConfig, WithoutProviderItIsWebex) {
    const OAuthSettings oauth = parse_config(kHead, "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider, ProviderProfile{});
    EXPECT_EQ(oauth.token_service, "https://webexapis.com/v1/access_token");
}

TEST(ProviderConfig, APresetByNameAndTheIntegrationsEndpointsWin) {
    OAuthSettings oauth =
        parse_config(kHead + "  token_service: http://127.0.0.1:5/token\n  provider: github\n", "tokend.yml", kNoSystemd)
            .integration.oauth;
    EXPECT_EQ(oauth.provider.name, "github");
    EXPECT_EQ(oauth.auth_service, "https://github.com/login/oauth/authorize");
    EXPECT_EQ(oauth.token_service, "http://127.0.0.1:5/token");
    EXPECT_EQ(provider_url(oauth.provider.identity.url, oauth), "https://api.github.com/user");
    oauth = parse_config(kHead + "  provider: microsoft\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_TRUE(oauth.provider.refresh_sends_scope);
}

TEST(ProviderConfig, EveryFieldOverrides) {
    const OAuthSettings oauth = parse_config(kHead + R"(  provider:
    preset: github
    client_auth: client_secret_basic
    scope_separator: ","
    token_path: authed_user
    identity: {url: "{api_base}/auth.test", user_id: user_id, display: user}
    message:
      url: "{api_base}/chat.postMessage"
      body: {channel: "{user_id}", text: "{text}"}
    dead_grant: {errors: [invalid_refresh_token, token_revoked], statuses: [401]}
    rotating_refresh_tokens: false
    refresh_sends_scope: true
)", "tokend.yml", kNoSystemd).integration.oauth;
    const ProviderProfile& p = oauth.provider;
    EXPECT_EQ(p.name, "github");
    EXPECT_EQ(p.client_auth, ClientAuth::client_secret_basic);
    EXPECT_EQ(p.scope_separator, ",");
    EXPECT_EQ(p.token_path, "authed_user");
    EXPECT_EQ(p.identity.url, "{api_base}/auth.test");
    EXPECT_EQ(p.identity.user_id_path, "user_id");
    EXPECT_EQ(p.identity.display_path, "user");
    EXPECT_EQ(p.message.url, "{api_base}/chat.postMessage");
    EXPECT_EQ(p.message.body.dump(), R"({"channel":"{user_id}","text":"{text}"})");
    EXPECT_EQ(p.dead_grant.errors, (std::vector<std::string>{"invalid_refresh_token", "token_revoked"}));
    EXPECT_EQ(p.dead_grant.statuses, std::vector<int>{401});
    EXPECT_FALSE(p.rotating_refresh_tokens);
    EXPECT_TRUE(p.refresh_sends_scope);
    const OAuthSettings none =
        parse_config(kHead + "  provider: {message: none}\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(none.provider.name, "webex");
    EXPECT_TRUE(none.provider.message.url.empty());
}

// The first problem reported (a mistake set aside may make the next pass report more).
std::string first_error_of(const std::string& text) {
    const std::string all = error_of(text);
    return all.substr(0, all.find('\n'));
}

TEST(ProviderConfig, GoogleIsOpenIdConnect) {
    OAuthSettings oauth = parse_config(kHead + "  provider:\n    preset: google\n    jwks_uri: http://127.0.0.1:5/certs\n",
                                       "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.name, "google");
    EXPECT_EQ(oauth.auth_service, "https://accounts.google.com/o/oauth2/v2/auth");
    EXPECT_EQ(oauth.token_service, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(oauth.provider.openid.identity_source, IdentitySource::id_token);
    EXPECT_EQ(oauth.provider.openid.issuer, "https://accounts.google.com");
    EXPECT_EQ(oauth.provider.openid.jwks_uri, "http://127.0.0.1:5/certs");
    EXPECT_EQ(oauth.provider.authorize_params,
              (std::vector<std::pair<std::string, std::string>>{{"access_type", "offline"}, {"prompt", "consent"}}));
    oauth = parse_config(kHead + "  provider:\n    preset: google\n    authorize_params: {access_type: offline}\n",
                         "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.openid.jwks_uri, "https://www.googleapis.com/oauth2/v3/certs");
    EXPECT_EQ(oauth.provider.authorize_params, (std::vector<std::pair<std::string, std::string>>{{"access_type", "offline"}}));
}

TEST(ProviderConfig, SlackAsksForUserScopes) {
    OAuthSettings oauth = parse_config(kHead + "  provider: slack\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.name, "slack");
    EXPECT_EQ(oauth.token_service, "https://slack.com/api/oauth.v2.access");
    EXPECT_EQ(oauth.provider.scope_param, "user_scope");
    EXPECT_EQ(oauth.provider.token_path, "authed_user");
    oauth = parse_config(kHead + "  provider:\n    preset: slack\n    scope_param: scope\n", "tokend.yml", kNoSystemd)
                .integration.oauth;
    EXPECT_EQ(oauth.provider.scope_param, "scope");
}

TEST(ProviderConfig, MessageAnswers) {
    // The slack preset reads ok; ok_path and retry_errors alone adjust it.
    OAuthSettings oauth = parse_config(kHead + "  provider: slack\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.message_answer,
              (MessageAnswer{"ok", {"ratelimited", "service_unavailable"}}));
    oauth = parse_config(kHead + "  provider:\n    preset: slack\n    message: {retry_errors: [ratelimited]}\n",
                         "tokend.yml", kNoSystemd)
                .integration.oauth;
    EXPECT_EQ(oauth.provider.message_answer, (MessageAnswer{"ok", {"ratelimited"}}));
    EXPECT_EQ(oauth.provider.message.url, "{api_base}/chat.postMessage");
    oauth = parse_config(kHead + "  provider:\n    preset: slack\n    message: {ok_path: \"\", retry_errors: []}\n",
                         "tokend.yml", kNoSystemd)
                .integration.oauth;
    EXPECT_EQ(oauth.provider.message_answer, MessageAnswer{});
    // A request of its own, with its rule; none drops both.
    oauth = parse_config(kHead + "  provider:\n    message: {url: \"{api_base}/m\", body: {to: \"{user_id}\"}, "
                                 "ok_path: result.ok, retry_errors: [busy]}\n",
                         "tokend.yml", kNoSystemd)
                .integration.oauth;
    EXPECT_EQ(oauth.provider.message_answer, (MessageAnswer{"result.ok", {"busy"}}));
    oauth = parse_config(kHead + "  provider:\n    preset: slack\n    message: none\n", "tokend.yml", kNoSystemd)
                .integration.oauth;
    EXPECT_EQ(oauth.provider.message_answer, MessageAnswer{});
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: github\n    message: {ok_path: ok}\n"),
              "tokend.yml:6: 'integration.provider.message' says how answers are read, but the profile has no message "
              "request: give url and body too");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: slack\n    message: {retry_errors: [Rate-Limited]}\n"),
              "tokend.yml:6: 'integration.provider.message.retry_errors' holds OAuth error codes (1 to 64 of a-z and _), "
              "not 'Rate-Limited'");
}

TEST(ProviderConfig, MistakesAreReportedWithTheirLine) {
    EXPECT_EQ(first_error_of(kHead + "  provider: gitlab\n"),
              "tokend.yml:4: unknown provider preset 'gitlab' (known: webex, github, microsoft, google, slack, oidc)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    scope_param: scopes\n"),
              "tokend.yml:5: 'integration.provider.scope_param' must be scope or user_scope (Slack's user token scopes)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    authorize_params: {user_scope: x}\n"),
              "tokend.yml:5: 'integration.provider.authorize_params' cannot set 'user_scope': tokend sets it");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: webex\n    colour: red\n"),
              "tokend.yml:6: unknown key 'colour' in 'integration.provider'");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    client_auth: private_key_jwt\n"),
              "tokend.yml:5: 'integration.provider.client_auth' must be client_secret_post or client_secret_basic");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    scope_separator: \";\"\n"),
              "tokend.yml:5: 'integration.provider.scope_separator' must be \" \" or \",\"");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    identity: {urls: x}\n"),
              "tokend.yml:5: unknown key 'urls' in 'integration.provider.identity'");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    message: {url: \"{api_base}/m\"}\n"),
              "tokend.yml:5: 'integration.provider.message' needs url and body (or is none: only events tell the "
              "user's bot)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    message: {url: \"{api_base}/m\", body: [1]}\n"),
              "tokend.yml:5: 'integration.provider.message.body' must be a mapping (the JSON body)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    dead_grant: {errors: [Invalid-Grant]}\n"),
              "tokend.yml:5: 'integration.provider.dead_grant.errors' holds OAuth error codes (1 to 64 of a-z and _), "
              "not 'Invalid-Grant'");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    dead_grant: {statuses: [200]}\n"),
              "tokend.yml:5: 'integration.provider.dead_grant.statuses' must be between 400 and 599");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    identity: {url: ftp://x/me}\n"),
              "tokend.yml:5: 'integration.provider.identity.url' must be an http:// or https:// URL");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    identity: id_token\n"),
              "tokend.yml:5: 'integration.provider' with identity: id_token needs issuer and jwks_uri");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    identity: userinfo\n"),
              "tokend.yml:5: 'integration.provider.identity' is id_token (OpenID Connect), request, or a mapping (the "
              "identity request)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: google\n    jwks_uri: http://10.0.0.1/certs\n"),
              "tokend.yml:6: 'integration.provider.jwks_uri' must be an https:// URL (http:// is allowed only to a loopback "
              "host: 127.0.0.0/8, ::1 or localhost), since the client secret and tokens travel in it");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    authorize_params: {state: x}\n"),
              "tokend.yml:5: 'integration.provider.authorize_params' cannot set 'state': tokend sets it");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    authorize_params: [x]\n"),
              "tokend.yml:5: 'integration.provider.authorize_params' must be a mapping of names to values");
    // Filled, a profile URL must be a provider URL.
    EXPECT_EQ(first_error_of(kHead + "  api_base: http://127.0.0.1:1/v1\n  provider:\n    identity: {url: http://10.0.0.1/me}\n"),
              "tokend.yml:6: 'integration.provider.identity.url' is http://10.0.0.1/me once {api_base} is filled: it "
              "must be an https:// URL (http:// only to a loopback host)");
}

// RFC 7009 revocation (the sign_out op): none in the presets, set or reset here.
TEST(ProviderConfig, Revocation) {
    for (const char* preset : {"webex", "github", "microsoft", "slack"}) {
        const OAuthSettings oauth =
            parse_config(kHead + "  provider: " + preset + "\n", "tokend.yml", kNoSystemd).integration.oauth;
        EXPECT_EQ(oauth.provider.revocation.url, "") << preset;
    }
    // Google's is RFC 7009's shape (docs/providers.md).
    OAuthSettings oauth = parse_config(kHead + "  provider: google\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.revocation.url, "https://oauth2.googleapis.com/revoke");
    oauth = parse_config(kHead + "  provider:\n    revocation: {url: \"https://oauth2.example/revoke\"}\n",
                                       "tokend.yml", kNoSystemd)
                              .integration.oauth;
    EXPECT_EQ(oauth.provider.revocation.url, "https://oauth2.example/revoke");
    oauth = parse_config(kHead + "  provider:\n    revocation: none\n", "tokend.yml", kNoSystemd).integration.oauth;
    EXPECT_EQ(oauth.provider.revocation.url, "");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    revocation: {}\n"),
              "tokend.yml:5: 'integration.provider.revocation' needs url (an RFC 7009 endpoint), or is none");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    revocation: {url: x, hint: y}\n"),
              "tokend.yml:5: unknown key 'hint' in 'integration.provider.revocation'");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    revocation: {url: \"http://10.0.0.1/revoke\"}\n"),
              "tokend.yml:5: 'integration.provider.revocation.url' is http://10.0.0.1/revoke once {api_base} is "
              "filled: it must be an https:// URL (http:// only to a loopback host)");
}

// The generic oidc preset: the issuer is required and checked offline; what
// the configuration sets itself is marked so the discovery document keeps it.
TEST(ProviderConfig, OidcPresetTakesAnIssuer) {
    OAuthSettings oauth = parse_config(kHead + "  provider: {preset: oidc, issuer: \"https://sso.example/realms/a\"}\n",
                                       "tokend.yml", kNoSystemd)
                              .integration.oauth;
    EXPECT_EQ(oauth.provider.name, "oidc");
    EXPECT_TRUE(oauth.provider.discovery.enabled);
    EXPECT_EQ(oauth.provider.openid.issuer, "https://sso.example/realms/a");
    EXPECT_EQ(oauth.provider.openid.identity_source, IdentitySource::id_token);
    EXPECT_EQ(oauth.provider.discovery, (DiscoverySettings{true, false, false, false, false, false, false}));
    EXPECT_EQ(oauth.auth_service, "");  // until the document is read
    // Inside an integrations: entry too, with explicit settings marked.
    const Config config = parse_config(R"(integrations:
  - name: sso
    client_id: C
    redirect_url: https://bot.example/redirect
    token_service: http://127.0.0.1:5/token
    pkce: false
    provider:
      preset: oidc
      issuer: http://127.0.0.1:5/realms/a
      revocation: none
      client_auth: client_secret_post
)", "tokend.yml", kNoSystemd);
    oauth = config.integration.oauth;
    EXPECT_EQ(config.integration.name, "sso");
    EXPECT_EQ(oauth.provider.discovery, (DiscoverySettings{true, false, true, false, true, true, true}));
    EXPECT_EQ(oauth.token_service, "http://127.0.0.1:5/token");
    EXPECT_FALSE(oauth.pkce);
}

TEST(ProviderConfig, OidcIssuerMistakes) {
    EXPECT_EQ(first_error_of(kHead + "  provider: oidc\n"),
              "tokend.yml:4: 'integration.provider: oidc' needs the issuer: write provider: {preset: oidc, issuer: URL}");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: oidc\n"),
              "tokend.yml:5: 'integration.provider' with preset oidc needs issuer");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: oidc\n    issuer: http://sso.example/realms/a\n"),
              "tokend.yml:6: 'integration.provider.issuer' must be an https:// URL (http:// is allowed only to a "
              "loopback host: 127.0.0.0/8, ::1 or localhost)");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: oidc\n    issuer: \"https://sso.example/?realm=a\"\n"),
              "tokend.yml:6: 'integration.provider.issuer' must have no query or fragment");
    EXPECT_EQ(first_error_of(kHead + "  provider:\n    preset: oidc\n    issuer: https://sso.example\n    identity: request\n"),
              "tokend.yml:7: 'integration.provider' with preset oidc takes the user from the id_token (identity: id_token)");
}

}  // namespace
}  // namespace tokend
