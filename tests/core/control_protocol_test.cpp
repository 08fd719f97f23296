#include "core/control_protocol.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(ControlProtocol, ParsesARequest) {
    ProtocolError error;
    auto request = parse_request(R"({"id": 7, "op": "get_token", "user_id": "u1"})", &error);
    ASSERT_TRUE(request) << request.error();
    EXPECT_EQ(request->id, 7);
    EXPECT_EQ(request->op->name, "get_token");
    EXPECT_EQ(request->params.find("user_id").text, "u1");
}

// The control server parses every line of a connection into one request:
// nothing of an earlier line may show through in a later one.
TEST(ControlProtocol, OneRequestReusedKeepsNothingOfTheLastLine) {
    ControlRequest request;
    ProtocolError error;
    ASSERT_TRUE(parse_request_into(R"({"id": 7, "op": "get_token", "user_id": "u1", "integration": "a"})", &request,
                                   &error));
    EXPECT_EQ(request.id, 7);
    ASSERT_TRUE(parse_plain_request_into(R"({"op": "ping"})", &request));  // plain again: no id, one member
    EXPECT_TRUE(request.id.is_null());
    EXPECT_EQ(request.op->name, "ping");
    EXPECT_EQ(request.params.to_json(), Json({{"op", "ping"}}));
    // Declined by the plain parse after it read the id and a member: the full parse's answer alone.
    ASSERT_TRUE(parse_request_into(R"({"id": 9, "user_id": "u\u0032", "op": "get_token"})", &request, &error));
    EXPECT_EQ(request.id, 9);
    EXPECT_EQ(request.params.find("user_id").text, "u2");
    EXPECT_EQ(request.params.to_json().size(), 3u);
    ASSERT_TRUE(parse_plain_request_into(R"({"op": "stats"})", &request));  // plain after full: no object left
    EXPECT_TRUE(request.id.is_null());
    EXPECT_EQ(request.params.find("user_id").kind, Param::Kind::absent);
    EXPECT_EQ(request.params.to_json(), Json({{"op", "stats"}}));
    // A line that fails leaves no earlier request behind either.
    EXPECT_FALSE(parse_request_into(R"({"id": 3, "op": "steal_tokens"})", &request, &error));
    EXPECT_EQ(error.code, ErrorCode::unknown_op);
    EXPECT_EQ(request.op, nullptr);
    EXPECT_TRUE(request.id.is_null());
    EXPECT_EQ(request.params.to_json(), Json::object());
}

TEST(ControlProtocol, IdIsOptionalAndAnyScalar) {
    ProtocolError error;
    EXPECT_TRUE(parse_request(R"({"op": "ping"})", &error)->id.is_null());
    EXPECT_EQ(parse_request(R"({"id": "abc", "op": "ping"})", &error)->id, "abc");
    EXPECT_EQ(parse_request(R"({"id": 1.5, "op": "ping"})", &error)->id, 1.5);
    EXPECT_EQ(parse_request(R"({"id": true, "op": "ping"})", &error)->id, true);
}

TEST(ControlProtocol, GarbageIsABadRequest) {
    for (const char* line : {"", "ping", "{", "[1]", "\"op\"", R"({"op": 5})", R"({"id": [1], "op": "ping"})",
                             R"({"id": {}, "op": "ping"})", "{\"op\": \"pi\xff\xfeng\"}", R"({"id": 3})"}) {
        ProtocolError error;
        EXPECT_FALSE(parse_request(line, &error)) << line;
        EXPECT_EQ(error.code, ErrorCode::bad_request) << line;
    }
    ProtocolError error;
    parse_request(R"({"id": 3})", &error);
    EXPECT_EQ(error.id, 3);  // the id is echoed even when the request is bad
}

TEST(ControlProtocol, UnknownOpKeepsTheId) {
    ProtocolError error;
    EXPECT_FALSE(parse_request(R"({"id": "x", "op": "steal_tokens"})", &error));
    EXPECT_EQ(error.code, ErrorCode::unknown_op);
    EXPECT_EQ(error.id, "x");
    EXPECT_EQ(error.message, "unknown op \"steal_tokens\"");
}

TEST(ControlProtocol, EncodesResponsesAsOneLine) {
    EXPECT_EQ(encode_ok(1, {{"version", "0.1.0"}, {"protocol", 1}}),
              "{\"id\":1,\"ok\":true,\"result\":{\"version\":\"0.1.0\",\"protocol\":1}}\n");
    EXPECT_EQ(encode_error(nullptr, ErrorCode::not_found, "no context for user u1"),
              "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"no context for user u1\"}}\n");
    EXPECT_EQ(encode_event("context_set", "u1", "2026-11-28T10:00:00+00:00"),
              "{\"event\":\"context_set\",\"user_id\":\"u1\",\"at\":\"2026-11-28T10:00:00+00:00\"}\n");
    EXPECT_EQ(encode_event("signed_out", "u1", "2026-11-28T10:00:00+00:00", "revoked"),
              "{\"event\":\"signed_out\",\"user_id\":\"u1\",\"at\":\"2026-11-28T10:00:00+00:00\","
              "\"revocation\":\"revoked\"}\n");
    // Several integrations: the event names the user's.
    EXPECT_EQ(encode_event("context_set", "u1", "2026-11-28T10:00:00+00:00", "", "github"),
              "{\"event\":\"context_set\",\"user_id\":\"u1\",\"integration\":\"github\","
              "\"at\":\"2026-11-28T10:00:00+00:00\"}\n");
    // Invalid UTF-8 in a message cannot break the line.
    const std::string line = encode_error(nullptr, ErrorCode::internal, "bad \xff byte\nnext");
    EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(ControlProtocol, OpsHaveClasses) {
    EXPECT_EQ(find_op("get_token")->op_class, OpClass::read);
    EXPECT_EQ(find_op("set_user_context")->op_class, OpClass::write);
    EXPECT_EQ(find_op("nope"), nullptr);
    EXPECT_EQ(find_op("auth_link")->op_class, OpClass::write);
    EXPECT_EQ(find_op("sign_out")->op_class, OpClass::write);
    EXPECT_EQ(find_op("grant_status")->op_class, OpClass::read);
    EXPECT_EQ(protocol_ops().size(), 16u);
    for (const auto& op : protocol_ops()) EXPECT_EQ(find_op(op.name), &op);
    EXPECT_EQ(error_code_from_string("reauth_required"), ErrorCode::reauth_required);
    EXPECT_EQ(error_code_from_string("unknown_integration"), ErrorCode::unknown_integration);
    EXPECT_EQ(to_string(ErrorCode::unknown_integration), "unknown_integration");
    EXPECT_EQ(error_code_from_string("provider_unavailable"), ErrorCode::provider_unavailable);
    EXPECT_EQ(to_string(ErrorCode::provider_unavailable), "provider_unavailable");
    EXPECT_FALSE(error_code_from_string("nope"));
}

TEST(LineSplitter, SplitsAcrossChunks) {
    LineSplitter splitter(100);
    std::vector<LineSplitter::Line> lines;
    splitter.feed("{\"op\":", &lines);
    EXPECT_TRUE(lines.empty());
    splitter.feed("\"ping\"}\n{\"op\":\"stats\"}\r\n\n{\"op\"", &lines);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text, "{\"op\":\"ping\"}");
    EXPECT_EQ(lines[1].text, "{\"op\":\"stats\"}");
    EXPECT_EQ(lines[2].text, "");
    EXPECT_EQ(splitter.buffered(), 5u);
}

TEST(LineSplitter, DropsAnOverlongLineAndGoesOn) {
    LineSplitter splitter(10);
    std::vector<LineSplitter::Line> lines;
    splitter.feed("0123456789", &lines);  // exactly the limit: still fine
    EXPECT_TRUE(lines.empty());
    splitter.feed("X", &lines);  // over
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(lines[0].too_long);
    for (int i = 0; i < 1000; ++i) splitter.feed("more bytes without end ", &lines);
    EXPECT_EQ(lines.size(), 1u);  // reported once
    EXPECT_EQ(splitter.buffered(), 0u);
    splitter.feed("\nok\n", &lines);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].text, "ok");
    EXPECT_FALSE(lines[1].too_long);
}

}  // namespace
}  // namespace tokend
