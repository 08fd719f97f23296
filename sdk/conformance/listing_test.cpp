// list(): paging with any limit, cursors that survive changes between pages, and
// no key deleted before the listing began. These run through the probing host
// (RawStore), which, unlike tokend::Store, shows a page that breaks its limit.
#include "fixture.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

namespace tokend::conformance {
namespace {

using Listing = ConformanceTest;

std::string numbered(const char* prefix, int n) {
    char text[64];
    std::snprintf(text, sizeof text, "%s-%05d", prefix, n);
    return text;
}

// Writes the keys, from several threads when the plugin is thread-safe: a durable
// store commits concurrent writes together, which is far faster than one by one.
::testing::AssertionResult put_all(RawStore& store, Ns ns, const std::vector<std::string>& keys) {
    const unsigned threads = target().has(TOKEND_STORE_CAP_THREAD_SAFE) ? 16 : 1;
    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::string failure;
    {
        std::vector<std::jthread> writers;
        for (unsigned t = 0; t < threads; ++t) {
            writers.emplace_back([&] {
                for (size_t i = next++; i < keys.size(); i = next++) {
                    RawResult result = store.put(ns, keys[i], "v");
                    if (result.status != TOKEND_OK) {
                        std::lock_guard<std::mutex> hold(failure_mutex);
                        failure = "put of " + keys[i] + " returned status " +
                                  std::to_string(result.status) + ": " + result.reply.error;
                        return;
                    }
                }
            });
        }
    }
    if (!failure.empty()) return ::testing::AssertionFailure() << failure;
    return ::testing::AssertionSuccess();
}

struct WalkRules {
    uint32_t limit = 1000;
    uint32_t stop_after = UINT32_MAX;  // the probing host asks to stop after this many keys
    size_t max_pages = 100000;         // a listing that needs more is taken to loop forever
    // Called after each page, e.g. to change the store between pages.
    std::function<void()> between_pages;
};

// Lists ns to the end, checking every page; counts how often each key came.
::testing::AssertionResult walk(RawStore& store, Ns ns, const WalkRules& rules,
                                std::map<std::string, int>* seen) {
    seen->clear();
    std::string cursor;
    for (size_t pages = 1;; ++pages) {
        if (pages > rules.max_pages) {
            return ::testing::AssertionFailure()
                   << "the listing did not end after " << rules.max_pages << " pages (limit "
                   << rules.limit << ")";
        }
        RawResult page = store.list(ns, cursor, rules.limit, rules.stop_after);
        if (page.status != TOKEND_OK) {
            return ::testing::AssertionFailure() << "list returned status " << page.status << ": "
                                                 << page.reply.error;
        }
        const size_t allowed = std::min(rules.limit, rules.stop_after);
        if (page.reply.keys.size() > rules.limit) {
            return ::testing::AssertionFailure() << "a page held " << page.reply.keys.size()
                                                 << " keys, more than the limit " << rules.limit;
        }
        if (page.reply.keys_after_stop > 0 || page.reply.keys.size() > allowed) {
            return ::testing::AssertionFailure()
                   << "the plugin went on giving keys after reply_key returned non-zero ("
                   << page.reply.keys_after_stop << " more)";
        }
        if (!page.reply.values.empty()) return ::testing::AssertionFailure() << "list replied with values";
        for (const std::string& key : page.reply.keys) ++(*seen)[key];
        if (page.reply.cursor.empty()) return ::testing::AssertionSuccess();
        if (page.reply.cursor == cursor && page.reply.keys.empty()) {
            return ::testing::AssertionFailure() << "list returned its own cursor again with no keys";
        }
        cursor = page.reply.cursor;
        if (rules.between_pages) rules.between_pages();
    }
}

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
        std::map<std::string, int> seen;
        ASSERT_TRUE(walk(*store, Ns::user, rules, &seen));
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
    std::map<std::string, int> seen;
    ASSERT_TRUE(walk(*store, Ns::user, rules, &seen));
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
        std::map<std::string, int> seen;
        ASSERT_TRUE(walk(*store, Ns::user, rules, &seen));
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
    std::map<std::string, int> seen;
    ASSERT_TRUE(walk(*store, Ns::user, rules, &seen));
    EXPECT_EQ(failure, "");
    size_t missing = 0;
    for (const std::string& key : stable) missing += seen.count(key) == 0;
    EXPECT_EQ(missing, 0u) << "keys present during the whole listing were skipped";
}

}  // namespace
}  // namespace tokend::conformance
