// list_entries() (store ABI 1.1, optional): the same keys as list, each with the
// value get gives, under list's paging rules; deleted keys absent. Skipped for a
// plugin that does not provide it (the host then loads with list + get).
#include "fixture.h"
#include "listing_walk.h"

#include <set>

namespace tokend::conformance {
namespace {

class ListEntries : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_TRUE(open_raw(&store_));
        if (!store_->can_list_entries()) GTEST_SKIP() << "the plugin does not provide list_entries";
    }

    void TearDown() override {
        store_.reset();
        ConformanceTest::TearDown();
    }

    std::unique_ptr<RawStore> store_;
};

// Values of every shape a plugin must keep: NUL bytes, empty, a context holding a secret.
std::string value_for(size_t index) {
    switch (index % 4) {
        case 0: return std::string("nul\0inside\xff", 11) + std::to_string(index);
        case 1: return "";
        case 2: return secret_value(std::to_string(index));
        default: return "{\"user_id\": \"" + std::to_string(index) + "\"}";
    }
}

// The key set list gives and each key's value as get gives it.
::testing::AssertionResult read_by_list_and_get(RawStore& store, Ns ns, std::map<std::string, std::string>* out) {
    WalkSeen listed;
    WalkRules rules;
    auto walked = walk(store, ns, rules, &listed);
    if (!walked) return walked;
    for (const auto& [key, count] : listed.count) {
        RawResult got = store.get(ns, key);
        if (got.status != TOKEND_OK || got.reply.values.size() != 1) {
            return ::testing::AssertionFailure() << "get of listed key " << key << " returned status " << got.status;
        }
        (*out)[key] = got.reply.values[0];
    }
    return ::testing::AssertionSuccess();
}

TEST_F(ListEntries, SameKeysAsListWithTheValuesGetGives) {
    std::vector<std::string> users;
    for (int i = 0; i < 600; ++i) users.push_back(numbered("user", i));
    ASSERT_TRUE(put_all(*store_, Ns::user, users, value_for));
    ASSERT_TRUE(put_all(*store_, Ns::flow, {"flow-1"}, [](size_t) { return std::string("a flow"); }));
    // Overwritten before the listing: only the new value may come.
    for (size_t i = 0; i < users.size(); i += 5) {
        ASSERT_EQ(store_->put(Ns::user, users[i], "new " + value_for(i)).status, TOKEND_OK);
    }
    std::map<std::string, std::string> expected;
    ASSERT_TRUE(read_by_list_and_get(*store_, Ns::user, &expected));
    ASSERT_EQ(expected.size(), users.size());

    for (uint32_t limit : {1u, 7u, 1000u}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        WalkRules rules;
        rules.entries = true;
        rules.limit = limit;
        rules.max_pages = 2 * users.size() + 100;
        WalkSeen seen;
        ASSERT_TRUE(walk(*store_, Ns::user, rules, &seen));
        size_t missing = 0, wrong = 0;
        for (const auto& [key, value] : expected) {
            auto it = seen.values.find(key);
            if (it == seen.values.end()) {
                ++missing;
                ADD_FAILURE() << "list_entries left out " << key << ", which list gives";
            } else if (it->second != value) {
                ++wrong;
                // Sizes only: the value may hold the secret marker.
                ADD_FAILURE() << "list_entries gave " << key << " a value of " << it->second.size()
                              << " bytes that differs from get's (" << value.size() << " bytes)";
            }
            if (missing + wrong > 5) break;  // enough to see the pattern
        }
        for (const auto& [key, count] : seen.count) {
            EXPECT_TRUE(expected.count(key)) << "list_entries gave a key list does not: " << key;
        }
    }
}

// reply_entry may return non-zero before the limit: the page ends there and the
// next one starts right after the last entry given.
TEST_F(ListEntries, HostMayEndAPageEarly) {
    std::vector<std::string> keys;
    for (int i = 0; i < 200; ++i) keys.push_back(numbered("user", i));
    ASSERT_TRUE(put_all(*store_, Ns::user, keys, value_for));
    WalkRules rules;
    rules.entries = true;
    rules.limit = 100;
    rules.stop_after = 3;
    rules.max_pages = 1000;
    WalkSeen seen;
    ASSERT_TRUE(walk(*store_, Ns::user, rules, &seen));
    for (size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(seen.count[keys[i]], 1) << "key " << keys[i];
        EXPECT_TRUE(seen.values[keys[i]] == value_for(i)) << "value of " << keys[i];
    }
}

TEST_F(ListEntries, KeysDeletedBeforeTheListingAreAbsent) {
    std::vector<std::string> keys;
    for (int i = 0; i < 300; ++i) keys.push_back(numbered("user", i));
    ASSERT_TRUE(put_all(*store_, Ns::user, keys, value_for));
    std::set<std::string> gone;
    for (size_t i = 0; i < keys.size(); i += 3) {
        ASSERT_EQ((i % 2 ? store_->take(Ns::user, keys[i]) : store_->del(Ns::user, keys[i])).status, TOKEND_OK);
        gone.insert(keys[i]);
    }
    for (uint32_t limit : {7u, 1000u}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        WalkRules rules;
        rules.entries = true;
        rules.limit = limit;
        WalkSeen seen;
        ASSERT_TRUE(walk(*store_, Ns::user, rules, &seen));
        for (const auto& [key, count] : seen.count) {
            EXPECT_EQ(gone.count(key), 0u) << "gave " << key << ", deleted before the listing began";
        }
        EXPECT_EQ(seen.count.size(), keys.size() - gone.size());
    }
}

// Keys deleted between pages may or may not come, but never with a made-up value;
// keys there all along come with their value.
TEST_F(ListEntries, ChangesBetweenPagesSkipNothingThatStays) {
    std::vector<std::string> stable, churn;
    for (int i = 0; i < 200; ++i) stable.push_back(numbered("m-stable", i));
    for (int i = 0; i < 200; ++i) churn.push_back(numbered("m-churn", i));
    ASSERT_TRUE(put_all(*store_, Ns::user, stable, value_for));
    ASSERT_TRUE(put_all(*store_, Ns::user, churn, [](size_t) { return std::string("churn"); }));
    size_t churned = 0;
    WalkRules rules;
    rules.entries = true;
    rules.limit = 10;
    rules.max_pages = 5000;
    rules.between_pages = [&] {
        for (int i = 0; i < 4 && churned < churn.size(); ++i) store_->del(Ns::user, churn[churned++]);
    };
    WalkSeen seen;
    ASSERT_TRUE(walk(*store_, Ns::user, rules, &seen));
    for (size_t i = 0; i < stable.size(); ++i) {
        EXPECT_TRUE(seen.values.count(stable[i]) && seen.values[stable[i]] == value_for(i))
            << "a key there all along came without its value: " << stable[i];
    }
    for (const std::string& key : churn) {
        if (seen.values.count(key)) {
            EXPECT_EQ(seen.values[key], "churn") << key;
        }
    }
}

}  // namespace
}  // namespace tokend::conformance
