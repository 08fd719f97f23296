// Sign-out and grant status (core/grant_revocation.h): which token is revoked,
// the RFC 7009 request with the token endpoint's client authentication, the
// provider's answers read into outcomes, and what grant_status tells.
#include "core/grant_revocation.h"
#include "core/provider_presets.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

const Timestamp kNow = *parse_iso8601("2026-12-03T10:00:00Z");

OAuthSettings settings() {
    OAuthSettings oauth;
    EXPECT_TRUE(apply_provider_preset("github", &oauth));
    oauth.client_id = "C1";
    oauth.client_secret = Secret("S:1/+");
    oauth.provider.revocation.url = "{api_base}/revoke";
    return oauth;
}

Tokens tokens(std::optional<std::string> access, std::optional<std::string> refresh, seconds left = 3600s) {
    Tokens t;
    if (access) t.access_token = Secret(*access);
    if (refresh) t.refresh_token = Secret(*refresh);
    t.expires_at = kNow + left;
    return t;
}

TEST(GrantRevocation, TheRefreshTokenElseTheAccessToken) {
    auto target = revocation_target(tokens("A1", "R1"));
    ASSERT_TRUE(target);
    EXPECT_EQ(target->token.reveal(), "R1");
    EXPECT_EQ(target->hint, "refresh_token");
    target = revocation_target(tokens("A1", std::nullopt));
    ASSERT_TRUE(target);
    EXPECT_EQ(target->token.reveal(), "A1");
    EXPECT_EQ(target->hint, "access_token");
    EXPECT_FALSE(revocation_target(tokens(std::nullopt, std::nullopt)));
    EXPECT_FALSE(revocation_target(tokens("", "")));
}

TEST(GrantRevocation, TheRequestAuthenticatesAsAtTheTokenEndpoint) {
    OAuthSettings oauth = settings();
    OutboundHttp request = revocation_request(oauth, {Secret("R/1+"), "refresh_token"});
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, "https://api.github.com/revoke");
    EXPECT_EQ(request.content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(request.body.reveal(), "token=R%2F1%2B&client_id=C1&client_secret=S%3A1%2F%2B&token_type_hint=refresh_token");
    EXPECT_FALSE(request.authorization);
    EXPECT_FALSE(request.bearer);
    EXPECT_FALSE(request.retry_allowed);
    oauth.provider.client_auth = ClientAuth::client_secret_basic;
    request = revocation_request(oauth, {Secret("A1"), "access_token"});
    EXPECT_EQ(request.body.reveal(), "token=A1&token_type_hint=access_token");
    ASSERT_TRUE(request.authorization);
    EXPECT_EQ(request.authorization->reveal(), "Basic QzE6UyUzQTElMkYlMkI=");  // "C1:S%3A1%2F%2B"
    EXPECT_EQ(request.url.find("A1"), std::string::npos);
}

TEST(GrantRevocation, AnswersReadIntoOutcomes) {
    const RevocationTarget refresh{Secret("R1"), "refresh_token"};
    const RevocationTarget access{Secret("A1"), "access_token"};
    RevocationAnswer answer = read_revocation_answer(refresh, 200, "", "");
    EXPECT_EQ(answer.outcome, RevocationOutcome::revoked);
    EXPECT_EQ(to_string(answer.outcome), "revoked");
    answer = read_revocation_answer(refresh, 503, R"({"error":"temporarily_unavailable"})", "");
    EXPECT_EQ(answer.outcome, RevocationOutcome::failed);
    EXPECT_EQ(answer.status, 503);
    EXPECT_EQ(answer.reason, "HTTP 503 temporarily_unavailable");
    EXPECT_FALSE(answer.try_access_token);
    // The body's free text is never repeated (it might echo the token).
    answer = read_revocation_answer(refresh, 400, R"({"error":"bad token R1"})", "");
    EXPECT_EQ(answer.reason, "HTTP 400");
    answer = read_revocation_answer(refresh, 500, "R1 is bad", "");
    EXPECT_EQ(answer.reason, "HTTP 500");
    answer = read_revocation_answer(refresh, 0, "", "127.0.0.1: timed out");
    EXPECT_EQ(answer.outcome, RevocationOutcome::failed);
    EXPECT_EQ(answer.status, 0);
    EXPECT_EQ(answer.reason, "127.0.0.1: timed out");
    EXPECT_EQ(read_revocation_answer(refresh, 0, "", "").reason, "no answer");
    // RFC 7009 2.2.1: a provider that revokes access tokens only.
    answer = read_revocation_answer(refresh, 400, R"({"error":"unsupported_token_type"})", "");
    EXPECT_EQ(answer.outcome, RevocationOutcome::failed);
    EXPECT_TRUE(answer.try_access_token);
    EXPECT_FALSE(read_revocation_answer(access, 400, R"({"error":"unsupported_token_type"})", "").try_access_token);
}

TEST(GrantRevocation, NoPresetHasAnEndpointTheProviderDoesNotDocument) {
    for (std::string_view name : provider_preset_names()) {
        OAuthSettings oauth;
        ASSERT_TRUE(apply_provider_preset(name, &oauth));
        if (name == "webex" || name == "github" || name == "microsoft") {
            EXPECT_EQ(oauth.provider.revocation.url, "") << name;  // none of them has an RFC 7009 endpoint
        }
    }
}

TEST(GrantStatus, WhatABotMayKnow) {
    const RefreshPolicy policy;
    GrantStatus none = grant_status(nullptr, 0, kNow, policy);
    EXPECT_FALSE(none.context);
    EXPECT_TRUE(none.reauth_required);
    EXPECT_FALSE(none.refreshable);

    Tokens working = tokens("A1", "R1");
    working.refresh_token_expires_at = kNow + hours(24 * 90);
    GrantStatus status = grant_status(&working, 0, kNow, policy);
    EXPECT_TRUE(status.context);
    EXPECT_TRUE(status.access_token_valid);
    EXPECT_TRUE(status.access_token_fresh);
    EXPECT_TRUE(status.refreshable);
    EXPECT_FALSE(status.reauth_required);
    EXPECT_EQ(*status.expires_at, kNow + 3600s);
    EXPECT_EQ(*status.refresh_token_expires_at, kNow + hours(24 * 90));

    // Inside the read margin: valid, not fresh.
    const Tokens closing = tokens("A1", "R1", 60s);
    status = grant_status(&closing, 2, kNow, policy);
    EXPECT_TRUE(status.access_token_valid);
    EXPECT_FALSE(status.access_token_fresh);
    EXPECT_EQ(status.refresh_failures, 2u);

    // Expired, but refreshable: still working.
    const Tokens expired = tokens("A1", "R1", -10s);
    status = grant_status(&expired, 0, kNow, policy);
    EXPECT_FALSE(status.access_token_valid);
    EXPECT_TRUE(status.refreshable);
    EXPECT_FALSE(status.reauth_required);

    // A dead grant (tokens cleared by the refresh) or a refresh token past its expiry.
    const Tokens dead = tokens(std::nullopt, std::nullopt);
    status = grant_status(&dead, 0, kNow, policy);
    EXPECT_TRUE(status.context);
    EXPECT_TRUE(status.reauth_required);
    Tokens spent = tokens("A1", "R1", -10s);
    spent.refresh_token_expires_at = kNow - 1s;
    status = grant_status(&spent, 0, kNow, policy);
    EXPECT_FALSE(status.refreshable);
    EXPECT_TRUE(status.reauth_required);
    // Without a refresh token, a valid access token still works until it expires.
    const Tokens access_only = tokens("A1", std::nullopt);
    status = grant_status(&access_only, 0, kNow, policy);
    EXPECT_FALSE(status.refreshable);
    EXPECT_FALSE(status.reauth_required);
}

}  // namespace
}  // namespace tokend
