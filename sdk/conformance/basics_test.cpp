// The key/value contract every plugin must keep: get, put, del, take, the two
// namespaces, byte-exact values, and the reply discipline of the C ABI.
#include "fixture.h"

#include <nlohmann/json.hpp>

#include <set>

namespace tokend::conformance {
namespace {

using Basics = ConformanceTest;

std::string every_byte_pattern(size_t size) {
    std::string value(size, '\0');
    for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
    return value;
}

TEST_F(Basics, EmptyStoreListsNothing) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    for (Ns ns : {Ns::user, Ns::flow}) {
        SCOPED_TRACE(to_string(ns));
        StorePage page;
        ASSERT_STORE(ok, store->list(ns, "", 100, &page));
        EXPECT_TRUE(page.keys.empty()) << "first key: " << page.keys.front();
        EXPECT_TRUE(page.next_cursor.empty()) << "an empty store must end the listing at once";
    }
}

TEST_F(Basics, GetOfMissingKeyIsNotFound) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    std::string value = "untouched";
    EXPECT_STORE(not_found, store->get(Ns::user, "nobody", &value));
    EXPECT_STORE(not_found, store->get(Ns::flow, "nobody", &value));
    EXPECT_EQ(value, "untouched") << "NOT_FOUND must not come with a value";
}

TEST_F(Basics, ValuesRoundTripByteForByte) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    const std::string marker = secret_marker();
    const struct {
        const char* what;
        std::string key;
        std::string value;
    } cases[] = {
        {"NUL bytes", "nul", std::string("a\0b\0\0c", 6) + marker},
        {"0xff bytes", "high", std::string("\xff\xfe\x80\xff", 4) + marker},
        {"empty value", "empty", ""},
        {"1 MiB value", "big", marker + every_byte_pattern(1 << 20)},
        {"UTF-8 key", "us\xc3\xa9r-\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6-\xf0\x9f\x98\x80",
         secret_value("utf-8")},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        ASSERT_STORE(ok, store->put(Ns::user, c.key, c.value));
    }
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        std::string read;
        ASSERT_STORE(ok, store->get(Ns::user, c.key, &read));
        EXPECT_EQ(read.size(), c.value.size());
        EXPECT_TRUE(read == c.value) << "the value read differs from the value written";
    }
}

// Values are opaque bytes (store.h), JSON included: a store that keeps user contexts
// in a structured form must still give back the exact bytes it was given. Data
// migrated from the original Python module is JSON as json.dumps wrote it, with
// spaces and \u escapes, not tokend's compact form.
TEST_F(Basics, JsonValuesComeBackByteForByte) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    const std::string marker = secret_marker();
    const struct {
        const char* what;
        std::string value;
    } cases[] = {
        {"compact, as tokend writes it",
         R"({"user_id":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM","tokens":{"access_token":")" + marker +
             R"(","expires_at":"2026-12-12T10:00:00.123456+00:00","refresh_token":null}})"},
        {"as Python's json.dumps wrote it",
         R"({"user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", "tokens": {"access_token": ")" + marker +
             R"(", "scope": "spark:people_read caf\u00e9", "expires_at": "2026-12-12T10:00:00.123456+00:00"}})"},
        {"a flow state", R"({"user_id":"u1","created":"2026-01-02T03:04:05.000006+00:00","code_verifier":")" +
                             marker + R"("})"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const std::string key = std::string("json-") + c.what;
        ASSERT_STORE(ok, store->put(Ns::user, key, c.value));
        std::string read;
        ASSERT_STORE(ok, store->get(Ns::user, key, &read));
        // Shown in full: the marker is a random string, not a token.
        EXPECT_EQ(read, c.value) << "a JSON value came back changed (values are opaque bytes)";
    }
}

// store.h: "Keys and values may contain any byte, including NUL".
TEST_F(Basics, KeysMayHoldAnyByte) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    const std::string keys[] = {std::string("k\0ey", 4), std::string("k", 1),
                                std::string("\xff\x01\x7f", 3), "with space/and:colon"};
    for (size_t i = 0; i < std::size(keys); ++i) {
        ASSERT_STORE(ok, store->put(Ns::flow, keys[i], "value-" + std::to_string(i)));
    }
    for (size_t i = 0; i < std::size(keys); ++i) {
        std::string read;
        ASSERT_STORE(ok, store->get(Ns::flow, keys[i], &read));
        EXPECT_EQ(read, "value-" + std::to_string(i)) << "key #" << i << " mixed up with another";
    }
    std::set<std::string> listed;
    ASSERT_STORE(ok, store->for_each_key(Ns::flow, [&](std::string_view key) {
        listed.emplace(key);
        return true;
    }));
    EXPECT_EQ(listed, std::set<std::string>(std::begin(keys), std::end(keys)));
}

TEST_F(Basics, PutReplacesTheValue) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    ASSERT_STORE(ok, store->put(Ns::user, "u1", secret_value("first, and longer than the second")));
    ASSERT_STORE(ok, store->put(Ns::user, "u1", "second"));
    std::string read;
    ASSERT_STORE(ok, store->get(Ns::user, "u1", &read));
    EXPECT_EQ(read, "second");
    ASSERT_STORE(ok, store->put(Ns::user, "u1", ""));
    ASSERT_STORE(ok, store->get(Ns::user, "u1", &read));
    EXPECT_EQ(read, "") << "an empty value is a value, not a deletion";
}

TEST_F(Basics, NamespacesAreApart) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    ASSERT_STORE(ok, store->put(Ns::user, "same", "in user"));
    std::string read;
    EXPECT_STORE(not_found, store->get(Ns::flow, "same", &read));
    ASSERT_STORE(ok, store->put(Ns::flow, "same", "in flow"));
    ASSERT_STORE(ok, store->get(Ns::user, "same", &read));
    EXPECT_EQ(read, "in user");
    ASSERT_STORE(ok, store->get(Ns::flow, "same", &read));
    EXPECT_EQ(read, "in flow");

    ASSERT_STORE(ok, store->del(Ns::user, "same"));
    EXPECT_STORE(not_found, store->get(Ns::user, "same", &read));
    ASSERT_STORE(ok, store->get(Ns::flow, "same", &read)) << "deleting in user touched flow";
    EXPECT_EQ(read, "in flow");

    ASSERT_STORE(ok, store->put(Ns::user, "same", "in user again"));
    ASSERT_STORE(ok, store->take(Ns::flow, "same", &read));
    EXPECT_EQ(read, "in flow");
    ASSERT_STORE(ok, store->get(Ns::user, "same", &read)) << "taking in flow touched user";
    EXPECT_EQ(read, "in user again");

    StorePage page;
    ASSERT_STORE(ok, store->list(Ns::flow, "", 100, &page));
    EXPECT_TRUE(page.keys.empty()) << "flow lists a key that only user has";
}

TEST_F(Basics, DeleteIsIdempotent) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    EXPECT_STORE(ok, store->del(Ns::user, "never-written"));
    EXPECT_STORE(ok, store->del(Ns::flow, "never-written"));
    ASSERT_STORE(ok, store->put(Ns::user, "u1", secret_value("u1")));
    EXPECT_STORE(ok, store->del(Ns::user, "u1"));
    EXPECT_STORE(ok, store->del(Ns::user, "u1"));
    std::string read;
    EXPECT_STORE(not_found, store->get(Ns::user, "u1", &read));
}

TEST_F(Basics, TakeReturnsTheValueThenNotFound) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    const std::string value = secret_value("flow state");
    ASSERT_STORE(ok, store->put(Ns::flow, "flow-1", value));
    std::string read;
    ASSERT_STORE(ok, store->take(Ns::flow, "flow-1", &read));
    EXPECT_EQ(read, value);
    EXPECT_STORE(not_found, store->take(Ns::flow, "flow-1", &read));
    EXPECT_STORE(not_found, store->get(Ns::flow, "flow-1", &read));
    EXPECT_STORE(not_found, store->take(Ns::flow, "never-written", &read));
}

// store.h, open(): "the plugin rejects unknown options with TOKEND_INVALID and names them".
TEST_F(Basics, OpenRejectsAnUnknownOption) {
    auto config = nlohmann::json::parse(this->config(), nullptr, false);
    ASSERT_TRUE(config.is_object()) << "the --config text must be a JSON object";
    const std::string option = "tokend_conformance_no_such_option";
    config[option] = true;

    std::unique_ptr<RawStore> store;
    bool out_left_null = false;
    RawResult result = RawStore::open(under_test().plugin, config.dump(), nullptr, &store, &out_left_null);
    EXPECT_EQ(result.status, TOKEND_INVALID) << "message: " << result.reply.error;
    EXPECT_NE(result.reply.error.find(option), std::string::npos)
        << "the message should name the unknown option; it was: " << result.reply.error;
    EXPECT_TRUE(out_left_null) << "a failed open must leave *out NULL";
}

// What the plugin hands the host, call by call: exactly one value for a get or a take
// that finds the key, none otherwise, and no stray replies from writes.
TEST_F(Basics, RepliesFollowTheProtocol) {
    std::unique_ptr<RawStore> store;
    ASSERT_TRUE(open_raw(&store));
    auto quiet = [](const RawResult& result) {
        return result.reply.values.empty() && result.reply.keys.empty() && result.reply.cursor_calls == 0;
    };

    RawResult missing = store->get(Ns::user, "u1");
    EXPECT_EQ(missing.status, TOKEND_NOT_FOUND);
    EXPECT_TRUE(quiet(missing)) << "get of a missing key replied with data";

    RawResult put = store->put(Ns::user, "u1", "v1");
    EXPECT_EQ(put.status, TOKEND_OK) << put.reply.error;
    EXPECT_TRUE(quiet(put)) << "put replied with data";

    RawResult got = store->get(Ns::user, "u1");
    EXPECT_EQ(got.status, TOKEND_OK) << got.reply.error;
    ASSERT_EQ(got.reply.values.size(), 1u) << "get must call reply_value exactly once";
    EXPECT_EQ(got.reply.values[0], "v1");

    RawResult taken = store->take(Ns::user, "u1");
    EXPECT_EQ(taken.status, TOKEND_OK) << taken.reply.error;
    ASSERT_EQ(taken.reply.values.size(), 1u) << "take must call reply_value exactly once";
    EXPECT_EQ(taken.reply.values[0], "v1");

    RawResult taken_again = store->take(Ns::user, "u1");
    EXPECT_EQ(taken_again.status, TOKEND_NOT_FOUND);
    EXPECT_TRUE(quiet(taken_again)) << "a take that finds nothing replied with data";

    RawResult deleted = store->del(Ns::user, "u1");
    EXPECT_EQ(deleted.status, TOKEND_OK) << deleted.reply.error;
    EXPECT_TRUE(quiet(deleted)) << "del replied with data";
}

}  // namespace
}  // namespace tokend::conformance
