// list(): paging with any limit, cursors that survive changes between pages, and
// no key deleted before the listing began. These run through the probing host
// (RawStore), which, unlike tokend::Store, shows a page that breaks its limit.
#include "fixture.h"
#include "listing_walk.h"

#include <algorithm>
#include <map>
#include <set>

namespace tokend::conformance {
namespace {

using Listing = ConformanceTest;

TEST_F(Listing, PagesCoverEveryKeyWithinTheLimit) {
    std::unique_ptr<RawStore> store;
    ASSERT_TRUE(open_raw(&store));
    std::vector<std::string> users, flows;
    for (int i = 0; i < 3000; ++i) users.push_back(numbered("user", i));
    for (int i = 0; i < 5; ++i) flows.push_back(numbered("flow", i));
    ASSERT_TRUE(put_all(*store, Ns::user, users));
    ASSERT_TRUE(put_all(*store, Ns::flow, flows));

    for (uint32_t limit : {1u, 7u, 1000u}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        WalkRules rules;
        rules.limit = limit;
        rules.max_pages = 2 * users.size() + 100;
        WalkSeen walked;
        const auto& seen = walked.count;
        ASSERT_TRUE(walk(*store, Ns::user, rules, &walked));
        size_t missing = 0;
        for (const std::string& key : users) missing += seen.count(key) == 0;
        EXPECT_EQ(missing, 0u) << "keys present during the whole listing were not listed";
        for (const auto& [key, count] : seen) {
            EXPECT_TRUE(std::binary_search(users.begin(), users.end(), key))
                << "listed a key that was never written to this namespace: " << key;
        }
    }
}

// reply_key may return non-zero before the limit: the page ends there and the next
// one starts right after the last key given.
TEST_F(Listing, HostMayEndAPageEarly) {
    std::unique_ptr<RawStore> store;
    ASSERT_TRUE(open_raw(&store));
    std::vector<std::string> keys;
    for (int i = 0; i < 200; ++i) keys.push_back(numbered("user", i));
    ASSERT_TRUE(put_all(*store, Ns::user, keys));

    WalkRules rules;
    rules.limit = 100;
    rules.stop_after = 3;
    rules.max_pages = 1000;
    WalkSeen walked;
    const auto& seen = walked.count;
    ASSERT_TRUE(walk(*store, Ns::user, rules, &walked));
    for (const std::string& key : keys) EXPECT_EQ(seen.count(key), 1u) << "key " << key;
}

TEST_F(Listing, KeysDeletedBeforeTheListingAreNotListed) {
    std::unique_ptr<RawStore> store;
    ASSERT_TRUE(open_raw(&store));
    std::vector<std::string> keys;
    for (int i = 0; i < 600; ++i) keys.push_back(numbered("user", i));
    ASSERT_TRUE(put_all(*store, Ns::user, keys));
    std::set<std::string> gone, kept;
    for (size_t i = 0; i < keys.size(); ++i) {
        if (i % 3 == 0) {
            ASSERT_EQ(store->del(Ns::user, keys[i]).status, TOKEND_OK);
            gone.insert(keys[i]);
        } else if (i % 3 == 1 && i % 2 == 0) {
            ASSERT_EQ(store->take(Ns::user, keys[i]).status, TOKEND_OK);
            gone.insert(keys[i]);
        } else {
            kept.insert(keys[i]);
        }
    }
    for (uint32_t limit : {7u, 1000u}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        WalkRules rules;
        rules.limit = limit;
        WalkSeen walked;
        const auto& seen = walked.count;
        ASSERT_TRUE(walk(*store, Ns::user, rules, &walked));
        for (const auto& [key, count] : seen) {
            EXPECT_EQ(gone.count(key), 0u) << "listed " << key << ", deleted before the listing began";
        }
        for (const std::string& key : kept) EXPECT_EQ(seen.count(key), 1u) << "missing " << key;
    }
}

// Writes and deletes between pages must not make the listing skip a key that is
// there all along (a cursor that is a position in an array would).
TEST_F(Listing, CursorSurvivesChangesBetweenPages) {
    std::unique_ptr<RawStore> store;
    ASSERT_TRUE(open_raw(&store));
    std::vector<std::string> stable, churn;
    for (int i = 0; i < 300; ++i) stable.push_back(numbered("m-stable", i));
    for (int i = 0; i < 300; ++i) churn.push_back(numbered("m-churn", i));
    ASSERT_TRUE(put_all(*store, Ns::user, stable));
    ASSERT_TRUE(put_all(*store, Ns::user, churn));

    size_t churned = 0;
    int added = 0;
    std::string failure;
    WalkRules rules;
    rules.limit = 10;
    rules.max_pages = 5000;
    rules.between_pages = [&] {
        // Delete a few keys and add some that sort before and after every other key.
        for (int i = 0; i < 4 && churned < churn.size(); ++i) {
            if (store->del(Ns::user, churn[churned++]).status != TOKEND_OK) failure = "del failed";
        }
        for (const char* prefix : {"a-added", "z-added"}) {
            if (store->put(Ns::user, numbered(prefix, added), "v").status != TOKEND_OK) {
                failure = "put failed";
            }
        }
        ++added;
    };
    WalkSeen walked;
    const auto& seen = walked.count;
    ASSERT_TRUE(walk(*store, Ns::user, rules, &walked));
    EXPECT_EQ(failure, "");
    size_t missing = 0;
    for (const std::string& key : stable) missing += seen.count(key) == 0;
    EXPECT_EQ(missing, 0u) << "keys present during the whole listing were skipped";
}

}  // namespace
}  // namespace tokend::conformance
