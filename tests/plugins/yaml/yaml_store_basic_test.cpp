// The yaml plugin through the host's Store wrapper: options, round trips of values
// and keys of any bytes, both namespaces, take, and listing.
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace tokend::yaml_test {
namespace {

const char kContext[] =
    R"({"user_id":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM","tokens":{"access_token":"NjE3ZGFj)"
    R"(LTQ3ZjgtOTBlYS1hY2U4","expires_at":"2026-12-12T10:00:00.123456+00:00","refresh_token")"
    R"(:"ZmQ4Y2Jm","refresh_token_expires_at":"2027-03-12T10:00:00.123456+00:00","token_type")"
    R"(:"Bearer","scope":"spark:all spark:kms"}})";

class YamlStoreBasic : public ::testing::Test {
protected:
    std::string users() const { return dir_.file("users.yml"); }
    void reopen() {
        store_.reset();
        store_ = open_yaml_or_fail(users());
        ASSERT_NE(store_, nullptr);
    }
    void SetUp() override { reopen(); }

    TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(YamlStoreBasic, AUserContextRoundTripsByteForByte) {
    ASSERT_TRUE(store_->put(Ns::user, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", kContext).ok());
    std::string value;
    ASSERT_TRUE(store_->get(Ns::user, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", &value).ok());
    EXPECT_EQ(value, kContext);
    reopen();
    ASSERT_TRUE(store_->get(Ns::user, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", &value).ok());
    EXPECT_EQ(value, kContext);
}

TEST_F(YamlStoreBasic, CompactJsonObjectsComeBackWithTheirKeyOrder) {
    const std::string compact = nlohmann::ordered_json::parse(R"({"z":1,"a":[1.5,null],"s":"\u00e9t\u00e9 \"q\""})").dump();
    ASSERT_TRUE(store_->put(Ns::user, "u", compact).ok());
    ASSERT_TRUE(store_->put(Ns::user, "spaced", "{ \"z\" : 1,\n \"a\" : [ 1.5, null ] }").ok());
    reopen();
    std::string value;
    ASSERT_TRUE(store_->get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, compact);
    // Written otherwise than compactly, an object is kept byte for byte (as !!binary).
    ASSERT_TRUE(store_->get(Ns::user, "spaced", &value).ok());
    EXPECT_EQ(value, "{ \"z\" : 1,\n \"a\" : [ 1.5, null ] }");
}

TEST_F(YamlStoreBasic, OtherValuesKeepEveryByte) {
    std::string all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
    const std::vector<std::string> values = {
        "",     "plain text",      "[1,2,3]", "\"a string\"",
        "null", "{\"truncated\":", all_bytes, std::string("nul\0inside", 10)};
    for (size_t i = 0; i < values.size(); ++i) {
        ASSERT_TRUE(store_->put(Ns::flow, "k" + std::to_string(i), values[i]).ok());
    }
    reopen();
    for (size_t i = 0; i < values.size(); ++i) {
        std::string value;
        ASSERT_TRUE(store_->get(Ns::flow, "k" + std::to_string(i), &value).ok());
        EXPECT_EQ(value, values[i]) << i;
    }
}

TEST_F(YamlStoreBasic, KeysMayHoldAnyBytes) {
    const std::vector<std::string> keys = {"plain",
                                           "with space",
                                           "123",
                                           "yes",
                                           "~",
                                           std::string("nul\0key", 7),
                                           "\xff\xfe binary",
                                           "caf\xc3\xa9",
                                           std::string(2000, 'k'),
                                           "-",
                                           "a: b"};
    for (const std::string& key : keys) ASSERT_TRUE(store_->put(Ns::user, key, "{\"k\":1}").ok());
    reopen();
    std::vector<std::string> expected = keys;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(all_keys(*store_, Ns::user), expected);
    for (const std::string& key : keys) {
        std::string value;
        EXPECT_TRUE(store_->get(Ns::user, key, &value).ok()) << key.size();
    }
}

TEST_F(YamlStoreBasic, NamespacesAreSeparate) {
    ASSERT_TRUE(store_->put(Ns::user, "same", R"({"ns":"user"})").ok());
    ASSERT_TRUE(store_->put(Ns::flow, "same", R"({"ns":"flow"})").ok());
    reopen();
    std::string value;
    ASSERT_TRUE(store_->get(Ns::user, "same", &value).ok());
    EXPECT_EQ(value, R"({"ns":"user"})");
    ASSERT_TRUE(store_->get(Ns::flow, "same", &value).ok());
    EXPECT_EQ(value, R"({"ns":"flow"})");
    ASSERT_TRUE(store_->del(Ns::user, "same").ok());
    EXPECT_TRUE(store_->get(Ns::user, "same", &value).not_found());
    EXPECT_TRUE(store_->get(Ns::flow, "same", &value).ok());
}

TEST_F(YamlStoreBasic, DeleteIsIdempotentAndTakeWorksOnce) {
    std::string value;
    EXPECT_TRUE(store_->del(Ns::user, "missing").ok());
    EXPECT_TRUE(store_->get(Ns::user, "missing", &value).not_found());
    ASSERT_TRUE(
        store_->put(Ns::flow, "f", R"({"user_id":"u","created":"2026-12-12T10:00:00+00:00"})")
            .ok());
    ASSERT_TRUE(store_->take(Ns::flow, "f", &value).ok());
    EXPECT_EQ(value, R"({"user_id":"u","created":"2026-12-12T10:00:00+00:00"})");
    EXPECT_TRUE(store_->take(Ns::flow, "f", &value).not_found());
    reopen();
    EXPECT_TRUE(store_->get(Ns::flow, "f", &value).not_found());
    EXPECT_TRUE(store_->del(Ns::flow, "f").ok());
}

TEST_F(YamlStoreBasic, ListsInPagesWithCursors) {
    std::vector<std::string> expected;
    for (int i = 0; i < 25; ++i) {
        expected.push_back("user" + std::to_string(100 + i));
        ASSERT_TRUE(store_->put(Ns::user, expected.back(), "{}").ok());
    }
    StorePage page;
    ASSERT_TRUE(store_->list(Ns::user, "", 10, &page).ok());
    EXPECT_EQ(page.keys, std::vector<std::string>(expected.begin(), expected.begin() + 10));
    EXPECT_FALSE(page.next_cursor.empty());
    const std::string second_cursor = page.next_cursor;
    ASSERT_TRUE(store_->list(Ns::user, second_cursor, 10, &page).ok());
    EXPECT_EQ(page.keys, std::vector<std::string>(expected.begin() + 10, expected.begin() + 20));
    // Store::list clears *page first: pass the cursor as a copy.
    std::string cursor = page.next_cursor;
    ASSERT_TRUE(store_->list(Ns::user, cursor, 10, &page).ok());
    EXPECT_EQ(page.keys, std::vector<std::string>(expected.begin() + 20, expected.end()));
    EXPECT_TRUE(page.next_cursor.empty());  // complete

    // A key deleted between pages does not disturb the cursor.
    ASSERT_TRUE(store_->del(Ns::user, expected[10]).ok());
    ASSERT_TRUE(store_->list(Ns::user, second_cursor, 3, &page).ok());
    EXPECT_EQ(page.keys, std::vector<std::string>(expected.begin() + 11, expected.begin() + 14));

    EXPECT_EQ(store_->list(Ns::user, "garbage", 3, &page).code, StoreCode::invalid);
    ASSERT_TRUE(store_->list(Ns::flow, "", 3, &page).ok());
    EXPECT_TRUE(page.keys.empty());
    EXPECT_TRUE(page.next_cursor.empty());
}

// list_entries (store ABI 1.1): pages of keys with the values get gives, read
// back from the file (mappings and !!binary alike).
TEST_F(YamlStoreBasic, ListsEntriesInPagesWithTheirValues) {
    ASSERT_TRUE(store_->can_list_entries());
    std::map<std::string, std::string> expected;
    for (int i = 0; i < 25; ++i) {
        const std::string key = "user" + std::to_string(100 + i);
        expected[key] = i % 3 == 0 ? kContext : i % 3 == 1 ? std::string("bin\0\xff", 5) : "";
        ASSERT_TRUE(store_->put(Ns::user, key, expected[key]).ok());
    }
    ASSERT_TRUE(store_->put(Ns::flow, "f", "a flow").ok());
    reopen();
    std::map<std::string, std::string> seen;
    std::string cursor;
    size_t pages = 0;
    do {
        StoreEntryPage page;
        ASSERT_TRUE(store_->list_entries(Ns::user, cursor, 10, &page).ok());
        ASSERT_LE(page.entries.size(), 10u);
        for (const StoreEntry& entry : page.entries) seen.emplace(entry.key, entry.value);
        cursor = page.next_cursor;
        ++pages;
    } while (!cursor.empty());
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(pages, 3u);

    // A key deleted between pages is not given, and the cursor goes on after it.
    StoreEntryPage page;
    ASSERT_TRUE(store_->list_entries(Ns::user, "", 10, &page).ok());
    ASSERT_TRUE(store_->del(Ns::user, "user110").ok());
    const std::string next = page.next_cursor;
    ASSERT_TRUE(store_->list_entries(Ns::user, next, 2, &page).ok());
    ASSERT_EQ(page.entries.size(), 2u);
    EXPECT_EQ(page.entries[0].key, "user111");
    EXPECT_EQ(page.entries[1].value, expected["user112"]);
    EXPECT_EQ(store_->list_entries(Ns::user, "garbage", 3, &page).code, StoreCode::invalid);
}

TEST_F(YamlStoreBasic, TheHostRefusesAnEmptyKey) {
    // store.h: keys are at least one byte; the host stops an empty one before the plugin.
    EXPECT_EQ(store_->put(Ns::user, "", "{}").code, StoreCode::invalid);
    EXPECT_TRUE(all_keys(*store_, Ns::user).empty());
}

TEST(YamlStoreOptions, RejectsBadOptionsNamingThem) {
    TempDir dir;
    std::unique_ptr<Store> store;
    StoreStatus status = open_yaml(R"({"path": "x.yml", "colour": "blue"})", &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_NE(status.message.find("\"colour\""), std::string::npos) << status.message;
    status = open_yaml(R"({"path": 42})", &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_NE(status.message.find("\"path\""), std::string::npos) << status.message;
    status = open_yaml(R"({"flows_path": "f.yml"})", &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_NE(status.message.find("\"path\" is required"), std::string::npos) << status.message;
    status = open_yaml(R"({"path": "a.yml", "flows_path": false})", &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_NE(status.message.find("\"flows_path\""), std::string::npos) << status.message;
    EXPECT_EQ(open_yaml("[1]", &store).code, StoreCode::invalid);
    EXPECT_EQ(open_yaml("{not json", &store).code, StoreCode::invalid);
    status = open_yaml(nlohmann::json{{"path", dir.file("no/such/dir/users.yml")}}.dump(), &store);
    EXPECT_EQ(status.code, StoreCode::invalid) << status.describe();
    EXPECT_EQ(store, nullptr);
}

TEST(YamlStoreOptions, FlowsGoBesideTheUsersFile) {
    TempDir dir;
    {
        auto store = open_yaml_or_fail(dir.file("bot.yml"));
        ASSERT_TRUE(store->put(Ns::flow, "f", "{}").ok());
    }
    EXPECT_TRUE(file_exists(dir.file("bot.flows.yml")));
    EXPECT_FALSE(file_exists(dir.file("bot.yml")));  // only the changed file is written
    {
        auto store = open_yaml_or_fail(dir.file("bot"));
        ASSERT_TRUE(store->put(Ns::flow, "f", "{}").ok());
    }
    EXPECT_TRUE(file_exists(dir.file("bot.flows.yml")));
    {
        std::unique_ptr<Store> store;
        const std::string config =
            nlohmann::json{{"path", dir.file("u.yaml")}, {"flows_path", dir.file("elsewhere.yml")}}
                .dump();
        ASSERT_TRUE(open_yaml(config, &store).ok());
        ASSERT_TRUE(store->put(Ns::flow, "f", "{}").ok());
    }
    EXPECT_TRUE(file_exists(dir.file("elsewhere.yml")));
    EXPECT_FALSE(file_exists(dir.file("u.flows.yml")));
}

}  // namespace
}  // namespace tokend::yaml_test
