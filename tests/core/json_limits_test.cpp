#include "core/json_limits.h"

#include "core/control_protocol.h"
#include "core/user_context.h"

#include <gtest/gtest.h>

#include <string>

namespace tokend {
namespace {

std::string nested(std::size_t depth, char open = '[', char close = ']') {
    return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonLimits, HundredThousandOpeningBracketsAreRefusedWithoutParsing) {
    const std::string deep(100000, '[');
    EXPECT_FALSE(json_depth_within(deep));
    EXPECT_TRUE(parse_bounded_json(deep).is_discarded());
    const std::string balanced = nested(100000);
    const Json parsed = parse_bounded_json(balanced);
    EXPECT_TRUE(parsed.is_discarded());  // destroying a 100,000-deep value would recurse
}

TEST(JsonLimits, ExactlyAtTheLimitParsesOneMoreDoesNot) {
    EXPECT_TRUE(json_depth_within(nested(kMaxJsonDepth)));
    EXPECT_FALSE(parse_bounded_json(nested(kMaxJsonDepth)).is_discarded());
    EXPECT_FALSE(json_depth_within(nested(kMaxJsonDepth + 1)));
    EXPECT_TRUE(parse_bounded_json(nested(kMaxJsonDepth + 1)).is_discarded());
    const std::string objects = std::string(kMaxJsonDepth - 1, '[') + "{\"a\":1}" + std::string(kMaxJsonDepth - 1, ']');
    EXPECT_TRUE(json_depth_within(objects));
    EXPECT_FALSE(json_depth_within("{\"a\":" + objects + "}"));
    EXPECT_TRUE(json_depth_within("1"));
    EXPECT_TRUE(json_depth_within(""));
    EXPECT_TRUE(json_depth_within("[[]]", 2));
    EXPECT_FALSE(json_depth_within("[[]]", 1));
}

TEST(JsonLimits, SiblingsDoNotAddUp) {
    std::string wide = "[";
    for (int i = 0; i < 1000; ++i) wide += (i ? "," : "") + nested(kMaxJsonDepth - 1);
    wide += "]";
    EXPECT_TRUE(json_depth_within(wide));
    EXPECT_EQ(parse_bounded_json(wide).size(), 1000u);
}

TEST(JsonLimits, BracketsInsideStringsDoNotCount) {
    const std::string text = "{\"a\":\"" + std::string(1000, '[') + std::string(1000, '{') + "\"}";
    EXPECT_TRUE(json_depth_within(text, 1));
    EXPECT_EQ(parse_bounded_json(text, 1)["a"].get<std::string>().size(), 2000u);
    // An escaped quote does not end the string: the brackets after it are still inside.
    const std::string escaped = "[\"\\\"" + std::string(100, '[') + "\"]";
    EXPECT_TRUE(json_depth_within(escaped, 1));
    EXPECT_FALSE(parse_bounded_json(escaped, 1).is_discarded());
    // An escaped backslash does end it: these brackets count.
    const std::string backslash = "[\"\\\\\"," + nested(3) + "]";
    EXPECT_FALSE(json_depth_within(backslash, 3));
    EXPECT_TRUE(json_depth_within(backslash, 4));
}

TEST(JsonLimits, MalformedTextIsStillTheParsersToReject) {
    EXPECT_TRUE(json_depth_within("]]]]"));
    EXPECT_TRUE(parse_bounded_json("]]]]").is_discarded());
    EXPECT_TRUE(parse_bounded_json("[1,").is_discarded());
}

TEST(JsonLimits, TooDeepControlLineIsBadRequest) {
    const std::string line = R"({"id":1,"op":"set_user_context","params":{"user_id":"a","user_context":)" +
                             nested(60000) + "}}";
    ProtocolError error;
    auto request = parse_request(line, &error);
    ASSERT_FALSE(request);
    EXPECT_EQ(error.code, ErrorCode::bad_request);
    EXPECT_NE(error.message.find("nests deeper"), std::string::npos);
}

TEST(JsonLimits, TooDeepStoredContextIsUnreadable) {
    auto context = user_context_from_json(std::string_view(nested(100000)));
    ASSERT_FALSE(context);
    EXPECT_NE(context.error().find("nests deeper"), std::string::npos);
    const std::string extra = R"({"user_id":"a","tokens":{"access_token":"t"},"x":)" + nested(kMaxJsonDepth - 1) + "}";
    EXPECT_TRUE(json_depth_within(extra));
}

}  // namespace
}  // namespace tokend
