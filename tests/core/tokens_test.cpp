#include "core/tokens.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp t0() { return *parse_iso8601("2026-11-28T10:00:00+00:00"); }

TEST(Tokens, ParsesEveryFieldAndWritesItBack) {
    const Json stored = Json::parse(R"({"access_token": "AT", "expires_at": "2026-12-12T10:00:00.123456+00:00",
        "refresh_token": "RT", "refresh_token_expires_at": "2027-02-26T10:00:00.123456+00:00",
        "token_type": "Bearer", "scope": "spark:people_read spark:messages_write"})");
    auto tokens = tokens_from_json(stored);
    ASSERT_TRUE(tokens) << tokens.error();
    EXPECT_EQ(tokens->access_token->reveal(), "AT");
    EXPECT_EQ(tokens->refresh_token->reveal(), "RT");
    EXPECT_EQ(*tokens->token_type, "Bearer");
    EXPECT_EQ(to_json(*tokens), stored);
    EXPECT_EQ(to_json(*tokens).dump(), stored.dump());  // same key order too
}

TEST(Tokens, EveryFieldMayBeNullOrMissing) {
    auto all_null = tokens_from_json(Json::parse(R"({"access_token": null, "expires_at": null,
        "refresh_token": null, "refresh_token_expires_at": null, "token_type": null, "scope": null})"));
    ASSERT_TRUE(all_null);
    EXPECT_FALSE(all_null->access_token);
    auto empty = tokens_from_json(Json::object());
    ASSERT_TRUE(empty);
    EXPECT_EQ(*all_null, *empty);
    // Written back, missing fields appear as nulls, as the original wrote them.
    EXPECT_EQ(to_json(*empty), Json::parse(R"({"access_token": null, "expires_at": null,
        "refresh_token": null, "refresh_token_expires_at": null, "token_type": null, "scope": null})"));
}

TEST(Tokens, UnknownFieldsSurviveARoundTrip) {
    const Json stored = Json::parse(R"({"access_token": "AT", "expires_at": null, "refresh_token": null,
        "refresh_token_expires_at": null, "token_type": "Bearer", "scope": null,
        "id_token": "x.y.z", "expires_in": 1209599})");
    auto tokens = tokens_from_json(stored);
    ASSERT_TRUE(tokens);
    EXPECT_EQ(to_json(*tokens), stored);
}

TEST(Tokens, WrongTypesAreErrorsThatQuoteNoValue) {
    for (const char* text : {R"({"access_token": 42})", R"({"expires_at": "tomorrow-ish"})",
                             R"({"refresh_token": ["RT-SECRET"]})", R"({"scope": {}})", R"([1])",
                             R"("AT")"}) {
        auto tokens = tokens_from_json(Json::parse(text));
        EXPECT_FALSE(tokens) << text;
        EXPECT_EQ(tokens.error().find("SECRET"), std::string::npos);
        EXPECT_EQ(tokens.error().find("tomorrow"), std::string::npos);
    }
}

TEST(Tokens, RemainingIsWholeSecondsAgainstTheGivenNow) {
    Tokens tokens;
    tokens.access_token = Secret("AT");
    tokens.expires_at = t0() + seconds{100} + milliseconds{900};
    EXPECT_EQ(tokens.remaining(t0()), seconds{100});
    EXPECT_EQ(tokens.remaining(t0() + days{14}), -(days{14} - seconds{101}));  // truncated toward zero
    EXPECT_EQ(tokens.remaining(t0() + seconds{100} + milliseconds{901}), seconds{0});
    tokens.expires_at.reset();
    EXPECT_EQ(tokens.remaining(t0()), seconds{0});
    tokens.expires_at = t0() + seconds{100};
    tokens.access_token.reset();
    EXPECT_EQ(tokens.remaining(t0()), seconds{0});
}

TEST(Tokens, TokenResponseLifetimesBecomeAbsoluteTimes) {
    auto tokens = tokens_from_token_response(Json::parse(R"({"access_token": "AT", "expires_in": 1209599,
        "refresh_token": "RT", "refresh_token_expires_in": 7775999, "token_type": "Bearer",
        "scope": "spark:all"})"), t0());
    ASSERT_TRUE(tokens) << tokens.error();
    EXPECT_EQ(*tokens->expires_at, t0() + seconds{1209599});
    EXPECT_EQ(*tokens->refresh_token_expires_at, t0() + seconds{7775999});
    EXPECT_EQ(tokens->remaining(t0()), seconds{1209599});
    // The *_in fields are not stored.
    const Json stored = to_json(*tokens);
    EXPECT_FALSE(stored.contains("expires_in"));
    EXPECT_EQ(stored["expires_at"], "2026-12-12T09:59:59+00:00");
}

TEST(Tokens, TokenResponseAcceptsStringLifetimes) {
    auto tokens = tokens_from_token_response(
        Json::parse(R"({"access_token": "AT", "expires_in": "3600"})"), t0());
    ASSERT_TRUE(tokens);
    EXPECT_EQ(*tokens->expires_at, t0() + hours{1});
    EXPECT_FALSE(tokens->refresh_token);
}

TEST(Tokens, BadTokenResponsesAreRefused) {
    for (const char* text : {R"({})", R"({"access_token": ""})", R"({"access_token": null})",
                             R"({"access_token": "AT", "expires_in": -1})",
                             R"({"access_token": "AT", "expires_in": 1.5})",
                             R"({"access_token": "AT", "expires_in": "soon"})",
                             R"({"access_token": "AT", "expires_in": 1e300})",
                             R"({"access_token": 7})", R"([])"}) {
        EXPECT_FALSE(tokens_from_token_response(Json::parse(text), t0())) << text;
    }
}

TEST(Tokens, RefreshWithoutRefreshTokenKeepsTheOldOne) {
    Tokens current;
    current.access_token = Secret("old-AT");
    current.refresh_token = Secret("RT");
    current.refresh_token_expires_at = t0() + days{90};
    current.scope = "spark:all";
    current.extra["id_token"] = "kept";
    auto fresh = tokens_from_token_response(
        Json::parse(R"({"access_token": "new-AT", "expires_in": 1209600})"), t0());
    ASSERT_TRUE(fresh);
    const Tokens merged = merge_refreshed(current, *fresh);
    EXPECT_EQ(merged.access_token->reveal(), "new-AT");
    EXPECT_EQ(merged.refresh_token->reveal(), "RT");
    EXPECT_EQ(*merged.refresh_token_expires_at, t0() + days{90});
    EXPECT_EQ(*merged.scope, "spark:all");
    EXPECT_EQ(merged.extra["id_token"], "kept");

    auto rotated = tokens_from_token_response(Json::parse(
        R"({"access_token": "AT3", "expires_in": 10, "refresh_token": "RT2", "refresh_token_expires_in": 20})"), t0());
    const Tokens merged2 = merge_refreshed(current, *rotated);
    EXPECT_EQ(merged2.refresh_token->reveal(), "RT2");
    EXPECT_EQ(*merged2.refresh_token_expires_at, t0() + seconds{20});
}

}  // namespace
}  // namespace tokend
