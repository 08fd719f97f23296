#include "core/user_context.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

// Exactly what the original's RedisTokenManager put under "user-{id}"
// (pydantic's .json(): compact separators would also do; json.dumps spacing here).
const char* kOriginalContext =
    R"({"user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", "tokens": {"access_token": "ZjM0-AT", )"
    R"("expires_at": "2026-12-12T10:00:00.123456+00:00", "refresh_token": "MDA1-RT", )"
    R"("refresh_token_expires_at": "2027-02-26T10:00:00.123456+00:00", "token_type": "Bearer", )"
    R"("scope": "spark:kms spark:people_read"}})";

TEST(UserContext, ReadsTheOriginalsJson) {
    auto context = user_context_from_json(std::string_view(kOriginalContext));
    ASSERT_TRUE(context) << context.error();
    EXPECT_EQ(context->user_id, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM");
    EXPECT_EQ(context->tokens.access_token->reveal(), "ZjM0-AT");
    EXPECT_EQ(format_iso8601(*context->tokens.expires_at), "2026-12-12T10:00:00.123456+00:00");
    EXPECT_EQ(*context->tokens.scope, "spark:kms spark:people_read");
}

TEST(UserContext, WritesWhatTheOriginalReads) {
    auto context = user_context_from_json(std::string_view(kOriginalContext));
    ASSERT_TRUE(context);
    // Same document, same key order; only the whitespace is compact.
    EXPECT_EQ(Json::parse(to_stored_text(*context)), Json::parse(kOriginalContext));
    EXPECT_EQ(to_stored_text(*context), Json::parse(kOriginalContext).dump());
}

TEST(UserContext, RoundTripsNullsAndUnknownFields) {
    const char* text =
        R"({"user_id":"u1","tokens":{"access_token":null,"expires_at":null,"refresh_token":"RT",)"
        R"("refresh_token_expires_at":"2027-02-26T10:00:00+00:00","token_type":null,"scope":null},)"
        R"("bot":"kept"})";
    auto context = user_context_from_json(std::string_view(text));
    ASSERT_TRUE(context) << context.error();
    EXPECT_FALSE(context->tokens.access_token);
    EXPECT_EQ(context->extra["bot"], "kept");
    EXPECT_EQ(to_stored_text(*context), text);
}

TEST(UserContext, BuildsFromParts) {
    UserContext context;
    context.user_id = "u2";
    context.tokens.access_token = Secret("AT");
    context.tokens.expires_at = *parse_iso8601("2026-12-12T10:00:00+00:00");
    auto back = user_context_from_json(std::string_view(to_stored_text(context)));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, context);
}

TEST(UserContext, RejectsMalformedData) {
    for (const char* text : {"", "{", "null", "[]", R"({"tokens": {}})", R"({"user_id": 5, "tokens": {}})",
                             R"({"user_id": "u"})", R"({"user_id": "u", "tokens": []})",
                             R"({"user_id": "u", "tokens": {"expires_at": "SECRET-garbage"}})",
                             "\xff\xfe"}) {
        auto context = user_context_from_json(std::string_view(text));
        EXPECT_FALSE(context) << text;
        EXPECT_EQ(context.error().find("SECRET"), std::string::npos);
    }
}

}  // namespace
}  // namespace tokend
