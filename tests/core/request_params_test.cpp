// RequestParams: the members of either parse read the same way, a plain
// line's strings left where they are in the line.
#include "core/control_protocol.h"
#include "core/request_params.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

Param plain(Param::Kind kind, std::string_view text = {}, uint64_t number = 0, bool flag = false) {
    Param param;
    param.kind = kind;
    param.text = text;
    param.number = number;
    param.flag = flag;
    return param;
}

TEST(RequestParams, APlainLinesStringsArePointedAtNotCopied) {
    const std::string line = R"({"op":"get_token","user_id":"a-user-id-well-past-any-small-string-buffer"})";
    const auto request = parse_plain_request(line);
    ASSERT_TRUE(request);
    const Param user = request->params.find("user_id");
    ASSERT_EQ(user.kind, Param::Kind::string);
    EXPECT_EQ(user.text, "a-user-id-well-past-any-small-string-buffer");
    EXPECT_GE(user.text.data(), line.data());
    EXPECT_LE(user.text.data() + user.text.size(), line.data() + line.size());
    EXPECT_EQ(user.json, nullptr);
    EXPECT_EQ(request->op->name, "get_token");
}

TEST(RequestParams, TheFullParseGivesEveryKindAndItsJson) {
    ProtocolError error;
    const auto request = parse_request_fully(
        R"({"op":"set_user_context","s":"x","n":7,"t":true,"f":false,"z":null,"neg":-1,"frac":1.5,"o":{"a":1},"l":[1]})",
        &error);
    ASSERT_TRUE(request) << request.error();
    const RequestParams& params = request->params;
    EXPECT_EQ(params.find("s").kind, Param::Kind::string);
    EXPECT_EQ(params.find("s").text, "x");
    EXPECT_EQ(params.find("n").kind, Param::Kind::whole_number);
    EXPECT_EQ(params.find("n").number, 7u);
    EXPECT_EQ(params.find("t").kind, Param::Kind::boolean);
    EXPECT_TRUE(params.find("t").flag);
    EXPECT_FALSE(params.find("f").flag);
    EXPECT_EQ(params.find("z").kind, Param::Kind::null);
    EXPECT_FALSE(params.find("z").given());
    EXPECT_FALSE(params.find("missing").given());
    EXPECT_EQ(params.find("missing").kind, Param::Kind::absent);
    for (const char* other : {"neg", "frac", "o", "l"}) {
        const Param param = params.find(other);
        EXPECT_EQ(param.kind, Param::Kind::other) << other;
        EXPECT_TRUE(param.given()) << other;
        ASSERT_NE(param.json, nullptr) << other;
        EXPECT_EQ(param.to_json(), *param.json) << other;
    }
    EXPECT_EQ(params.find("o").to_json(), Json({{"a", 1}}));
    EXPECT_EQ(params.to_json()["l"], Json::array({1}));
}

TEST(RequestParams, APlainValueAsJsonIsWhatTheFullParseHolds) {
    RequestParams params;
    params.add_plain("s", plain(Param::Kind::string, "text"));
    params.add_plain("n", plain(Param::Kind::whole_number, {}, 18446744073709551615ull));
    params.add_plain("b", plain(Param::Kind::boolean, {}, 0, true));
    params.add_plain("z", plain(Param::Kind::null));
    EXPECT_EQ(params.to_json().dump(), R"({"s":"text","n":18446744073709551615,"b":true,"z":null})");
    EXPECT_TRUE(params.find("n").to_json().is_number_unsigned());
    EXPECT_TRUE(params.find("absent").to_json().is_null());
    EXPECT_EQ(RequestParams().to_json(), Json::object());
}

TEST(RequestParams, HoldsAtMostEightPlainMembers) {
    RequestParams params;
    for (size_t i = 0; i < RequestParams::kMaxPlainMembers; ++i) params.add_plain("k", plain(Param::Kind::null));
    EXPECT_THROW(params.add_plain("k", plain(Param::Kind::null)), std::out_of_range);
}

}  // namespace
}  // namespace tokend
