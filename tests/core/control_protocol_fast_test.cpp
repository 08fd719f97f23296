// The control protocol's fast paths (core/control_protocol_fast.cpp) against
// the general ones they stand in for.
#include "core/control_protocol.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

// Equal as values, as types (1 unsigned is not 1 signed) and as bytes; each
// member read the same through RequestParams::find.
void expect_same(const ControlRequest& fast, const ControlRequest& full, std::string_view line) {
    EXPECT_EQ(fast.op, full.op) << line;
    EXPECT_EQ(fast.id, full.id) << line;
    EXPECT_EQ(fast.id.type(), full.id.type()) << line;
    const Json fast_params = fast.params.to_json();
    const Json full_params = full.params.to_json();
    EXPECT_EQ(fast_params.dump(), full_params.dump()) << line;
    ASSERT_EQ(fast_params.size(), full_params.size()) << line;
    for (auto a = fast_params.begin(), b = full_params.begin(); a != fast_params.end(); ++a, ++b) {
        EXPECT_EQ(a.key(), b.key()) << line;
        EXPECT_EQ(a->type(), b->type()) << line;
        const Param x = fast.params.find(a.key());
        const Param y = full.params.find(b.key());
        EXPECT_EQ(x.kind, y.kind) << a.key() << " in " << line;
        EXPECT_EQ(x.text, y.text) << a.key() << " in " << line;
        EXPECT_EQ(x.number, y.number) << a.key() << " in " << line;
        EXPECT_EQ(x.flag, y.flag) << a.key() << " in " << line;
    }
    EXPECT_EQ(fast.params.find("not-there").kind, Param::Kind::absent) << line;
}

TEST(ControlProtocolFast, TakesWhatClientsSendAsTheFullParseDoes) {
    for (const char* line : {
             R"({"op":"get_token","user_id":"bench-user"})",
             R"({"id":1,"op":"get_token","user_id":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xMjM0"})",
             R"({"id": 7, "op": "get_token", "user_id": "u1"})",
             " \t{ \"op\" : \"ping\" , \"id\" : \"abc\" } \r",
             R"({"op":"ping","id":0})",
             R"({"op":"ping","id":9999999999999999999})",
             R"({"op":"ping","id":true})",
             R"({"op":"ping","id":false})",
             R"({"op":"ping","id":null})",
             R"({"user_id":"u","op":"get_user_context","refresh":true,"id":3})",
             R"({"op":"list_users","cursor":null,"limit":1000})",
             R"({"op":"get_token","user_id":""})",
             R"({"op":"get_token","user_id":"with ~!@#$%^&*()_+{}[]:;'<>,.?/ and spaces"})",
             R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"op":"ping"})",
         }) {
        ProtocolError error;
        const auto fast = parse_plain_request(line);
        const auto full = parse_request_fully(line, &error);
        ASSERT_TRUE(fast) << line;
        ASSERT_TRUE(full) << line << ": " << full.error();
        expect_same(*fast, *full, line);
        expect_same(*parse_request(line, &error), *full, line);
    }
}

TEST(ControlProtocolFast, LeavesEverythingElseToTheFullParse) {
    for (const char* line : {
             "", " ", "{}", "{", "}", "[]", "null", R"("op")",
             R"({"op":"get_token","user_id":"a\"b"})",         // an escape
             R"({"op":"get_token","user_id":"a\u0041"})",      // a unicode escape
             "{\"op\":\"get_token\",\"user_id\":\"caf\xc3\xa9\"}",  // UTF-8: validated by the full parse
             "{\"op\":\"get_token\",\"user_id\":\"a\xff\"}",     // invalid UTF-8
             "{\"op\":\"get_token\",\"user_id\":\"a\tb\"}",     // a raw control character
             "\xef\xbb\xbf{\"op\":\"ping\"}",                    // a byte order mark
             R"({"op":"ping","id":-1})",
             R"({"op":"ping","id":1.5})",
             R"({"op":"ping","id":1e3})",
             R"({"op":"ping","id":01})",
             R"({"op":"ping","id":18446744073709551615})",     // 20 digits
             R"({"op":"ping","id":[1]})",
             R"({"op":"ping","id":{}})",
             R"({"op":"set_user_context","user_id":"u","user_context":null,"x":{"a":1}})",
             R"({"op":"ping","op":"stats"})",                  // a duplicate key: the full parse keeps the last
             R"({"op":"steal_tokens"})",
             R"({"op":5})",
             R"({"id":3})",
             R"({"op":"ping",})",
             R"({"op":"ping"} x)",
             R"({"op":"ping"}{"op":"ping"})",
             R"({"op" "ping"})",
             R"({"op":"ping","id":tru})",
             R"({"op":"ping","id":nulls})",
             R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"op":"ping"})",  // 9 members
             "{\"op\":\"ping\"\0}",
         }) {
        EXPECT_FALSE(parse_plain_request(line)) << line;
        // parse_request answers these exactly as the full parse does.
        ProtocolError fast_error, full_error;
        const auto through = parse_request(line, &fast_error);
        const auto full = parse_request_fully(line, &full_error);
        ASSERT_EQ(bool(through), bool(full)) << line;
        if (full) {
            expect_same(*through, *full, line);
        } else {
            EXPECT_EQ(fast_error.code, full_error.code) << line;
            EXPECT_EQ(fast_error.message, full_error.message) << line;
            EXPECT_EQ(fast_error.id, full_error.id) << line;
        }
    }
}

TEST(ControlProtocolFast, EncodesStringResultsAsEncodeOkDoes) {
    const std::vector<Json> ids = {nullptr, 0, 1, 18446744073709551615ull, -5, 1.5, true, "abc", "q\"uote",
                                   "bad \xff", std::string("nul\0x", 5)};
    const std::vector<std::string> values = {"", "plain-token.value_1~", "a\"b", "back\\slash", "tab\tnew\nline",
                                             "caf\xc3\xa9", "bad \xff\xfe utf-8", std::string("nul\0x", 5),
                                             "\x7f del", "\x01\x1f"};
    for (const Json& id : ids) {
        for (const std::string& value : values) {
            const std::string fast =
                encode_ok_strings(id, {{"user_id", "u1"}, {"access_token", value}, {"expires_at", std::nullopt}});
            const std::string full =
                encode_ok(id, {{"user_id", "u1"}, {"access_token", value}, {"expires_at", nullptr}});
            EXPECT_EQ(fast, full) << id.dump() << " " << Json(value).dump(-1, ' ', true, Json::error_handler_t::replace);
        }
        EXPECT_EQ(encode_ok_strings(id, {}), encode_ok(id, Json::object()));
        EXPECT_EQ(encode_ok_strings(id, {{"k", std::string_view()}}), encode_ok(id, {{"k", ""}}));
        // A value its caller vouches for is written as it is, as encode_ok writes it.
        EXPECT_EQ(encode_ok_strings(id, {{"at", "2026-12-13T10:00:00+00:00", true}}),
                  encode_ok(id, {{"at", "2026-12-13T10:00:00+00:00"}}));
        EXPECT_EQ(encode_ok_strings(id, {{"at", std::nullopt, true}}), encode_ok(id, {{"at", nullptr}}));
    }
    EXPECT_EQ(encode_ok_strings(7, {{"user_id", "u1"}, {"access_token", "AT"}, {"expires_at", "2026-12-13T10:00:00+00:00"}}),
              R"({"id":7,"ok":true,"result":{"user_id":"u1","access_token":"AT","expires_at":"2026-12-13T10:00:00+00:00"}})"
              "\n");
}

TEST(LineSplitter, ViewsPointIntoTheBytesOrTheAssembledLine) {
    LineSplitter splitter(100);
    std::vector<LineSplitter::LineView> lines;
    splitter.feed_views("{\"op\":", &lines);
    EXPECT_TRUE(lines.empty());
    const std::string bytes = "\"ping\"}\n{\"op\":\"stats\"}\r\n\n{\"op\"";
    splitter.feed_views(bytes, &lines);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text, "{\"op\":\"ping\"}");  // begun in the first feed
    EXPECT_EQ(lines[1].text, "{\"op\":\"stats\"}");
    EXPECT_EQ(lines[1].text.data(), bytes.data() + 8);  // not copied
    EXPECT_EQ(lines[2].text, "");
    EXPECT_EQ(splitter.buffered(), 5u);

    LineSplitter limited(10);
    lines.clear();
    limited.feed_views("0123456789\n01234567890\nok\n", &lines);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text, "0123456789");
    EXPECT_TRUE(lines[1].too_long);
    EXPECT_EQ(lines[2].text, "ok");
}

}  // namespace
}  // namespace tokend
