#include "core/user_context_fast.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tokend {
namespace {

// The DOM reader alone, which the fast one must agree with.
Result<UserContext> dom_read(const std::string& text) {
    Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Result<UserContext>::failure("not JSON");
    return user_context_from_json(json);
}

const char* kOriginal =
    R"({"user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", "tokens": {"access_token": "ZjM0-AT", )"
    R"("expires_at": "2026-12-12T10:00:00.123456+00:00", "refresh_token": "MDA1-RT", )"
    R"("refresh_token_expires_at": "2027-02-26T10:00:00.123456+00:00", "token_type": "Bearer", )"
    R"("scope": "spark:kms spark:people_read"}})";

TEST(UserContextFast, ReadsWhatTheOriginalAndTokendWrite) {
    auto fast = user_context_from_plain_json(kOriginal);
    ASSERT_TRUE(fast);
    auto dom = dom_read(kOriginal);
    ASSERT_TRUE(dom) << dom.error();
    EXPECT_EQ(*fast, *dom);
    EXPECT_EQ(fast->tokens.access_token->reveal(), "ZjM0-AT");
    EXPECT_EQ(format_iso8601(*fast->tokens.refresh_token_expires_at), "2027-02-26T10:00:00.123456+00:00");
    // tokend's own compact form, nulls included, reads the same way.
    UserContext nulls;
    nulls.user_id = "u";
    const std::string stored = to_stored_text(nulls);
    auto back = user_context_from_plain_json(stored);
    ASSERT_TRUE(back) << stored;
    EXPECT_EQ(*back, nulls);
    EXPECT_EQ(to_stored_text(*back), stored);
    auto again = user_context_from_plain_json(to_stored_text(*fast));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *fast);
}

TEST(UserContextFast, DeclinesWhatOnlyTheDomReaderJudges) {
    for (const char* text : {
             R"({"user_id":"u","tokens":{},"bot":"kept"})",          // unknown top-level field
             R"({"user_id":"u","tokens":{"x":1}})",                  // unknown token field
             R"({"user_id":"u\u0041","tokens":{}})",                 // escape
             "{\"user_id\":\"\xc3\xa9\",\"tokens\":{}}",             // UTF-8
             R"({"user_id":"u","user_id":"v","tokens":{}})",         // repeated key
             R"({"user_id":"u","tokens":{"scope":"a","scope":"b"}})",
             R"({"user_id":"u","tokens":{"expires_at":"soon"}})",    // bad time: the DOM reader's error
             R"({"user_id":5,"tokens":{}})", R"({"user_id":"u","tokens":null})", R"({"user_id":"u"})",
             R"({"tokens":{}})", R"({"user_id":"u","tokens":{}} x)", R"({"user_id":"u","tokens":{},})",
             R"({"user_id":"u","tokens":{"scope":nul}})", "", "{", "[]", "\xef\xbb\xbf{\"user_id\":\"u\",\"tokens\":{}}",
             // sealed values: the store's cipher opens them (open_context relies on this)
             R"({"user_id":"u","tokens":{"access_token":"enc:v1:k:abc"}})",
             R"({"user_id":"u","tokens":{"refresh_token":"enc:"}})", R"({"user_id":"enc:x","tokens":{}})"}) {
        EXPECT_FALSE(user_context_from_plain_json(text)) << text;
    }
    // And the public reader still takes what it should, and refuses what it should.
    EXPECT_EQ(user_context_from_json(std::string_view(R"({"user_id":"u","tokens":{},"bot":"kept"})"))->extra["bot"],
              "kept");
    EXPECT_FALSE(user_context_from_json(std::string_view(R"({"user_id":"u","tokens":{"expires_at":"soon"}})")));
    // A value merely containing the letters is plain.
    EXPECT_TRUE(user_context_from_plain_json(R"({"user_id":"u","tokens":{"access_token":"xenc:","scope":"enc"}})"));
}

// The word-at-a-time scan finds an escape, a control character or a byte
// beyond ASCII at every position of a long string, and lets '~' and DEL through.
TEST(UserContextFast, FindsAnOddByteAnywhereInAString) {
    for (size_t at = 0; at < 40; ++at) {
        for (char odd : {'\\', '\x01', '\x1f', '\x80', '\xff', '~', '\x7f', ' '}) {
            std::string token(40, 'T');
            token[at] = odd;
            const std::string text = R"({"user_id":"u","tokens":{"access_token":")" + token + R"("}})";
            const bool plain = odd == '~' || odd == '\x7f' || odd == ' ';
            auto fast = user_context_from_plain_json(text);
            EXPECT_EQ(static_cast<bool>(fast), plain) << at << " " << int(odd);
            if (fast) {
                EXPECT_EQ(fast->tokens.access_token->reveal(), token);
            }
        }
    }
}

// Differential: many shapes built from pieces the fast reader takes and pieces
// it must decline; whatever it takes, the DOM reader reads to the same context.
TEST(UserContextFast, AgreesWithTheDomReaderOnManyShapes) {
    std::mt19937 random(16);
    auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
    const std::vector<std::string> space = {"", "", " ", "\n  ", "\t", "\r\n"};
    const std::vector<std::string> keys = {"access_token", "expires_at", "refresh_token", "refresh_token_expires_at",
                                           "token_type", "scope", "other", "scope"};
    const std::vector<std::string> strings = {"null", "\"AT-1\"", "\"\"", "\"Bearer\"", "\"spark:all spark:kms\"",
                                              "\"2026-12-12T10:00:00.123456+00:00\"", "\"2026-12-12 10:00:00Z\"",
                                              "\"2026-13-12T10:00:00+00:00\"", "\"a\\\"b\"", "12", "true",
                                              "{}", "\"\xc3\xa9\"", "nul"};
    size_t taken = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string tokens = "{";
        const int fields = static_cast<int>(random() % 8);
        for (int i = 0; i < fields; ++i) {
            if (i) tokens += pick(space) + ",";
            tokens += pick(space) + "\"" + pick(keys) + "\"" + pick(space) + ":" + pick(space) + pick(strings);
        }
        tokens += pick(space) + "}";
        std::vector<std::string> members = {"\"user_id\":" + pick(space) + pick({"\"u-1\"", "\"\"", "7", "null"}),
                                            "\"tokens\":" + pick(space) + (random() % 10 ? tokens : pick(strings))};
        if (random() % 10 == 0) members.push_back("\"bot\":\"x\"");
        if (random() % 10 == 0) members.pop_back();
        if (random() % 2) std::swap(members.front(), members.back());
        std::string text = pick(space) + "{";
        for (size_t i = 0; i < members.size(); ++i) text += (i ? "," : "") + pick(space) + members[i];
        text += pick(space) + "}" + pick(space);
        if (random() % 20 == 0) text.resize(random() % (text.size() + 1));  // cut short
        auto fast = user_context_from_plain_json(text);
        auto dom = dom_read(text);
        if (!fast) continue;
        ++taken;
        ASSERT_TRUE(dom) << text << ": " << dom.error();
        ASSERT_EQ(*fast, *dom) << text;
        ASSERT_EQ(to_stored_text(*fast), to_stored_text(*dom)) << text;
    }
    EXPECT_GT(taken, 1000u);  // the fast path is really taken
}

}  // namespace
}  // namespace tokend
