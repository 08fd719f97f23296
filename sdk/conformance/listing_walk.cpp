#include "listing_walk.h"

#include "target.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace tokend::conformance {

std::string numbered(const char* prefix, int n) {
    char text[64];
    std::snprintf(text, sizeof text, "%s-%05d", prefix, n);
    return text;
}

::testing::AssertionResult put_all(RawStore& store, Ns ns, const std::vector<std::string>& keys,
                                   const std::function<std::string(size_t index)>& value_for) {
    const unsigned threads = target().has(TOKEND_STORE_CAP_THREAD_SAFE) ? 16 : 1;
    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::string failure;
    {
        std::vector<std::jthread> writers;
        for (unsigned t = 0; t < threads; ++t) {
            writers.emplace_back([&] {
                for (size_t i = next++; i < keys.size(); i = next++) {
                    RawResult result = store.put(ns, keys[i], value_for ? value_for(i) : "v");
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

::testing::AssertionResult walk(RawStore& store, Ns ns, const WalkRules& rules, WalkSeen* seen) {
    const char* const call = rules.entries ? "list_entries" : "list";
    const char* const reply_fn = rules.entries ? "reply_entry" : "reply_key";
    *seen = WalkSeen();
    std::string cursor;
    for (size_t pages = 1;; ++pages) {
        if (pages > rules.max_pages) {
            return ::testing::AssertionFailure()
                   << "the " << call << " listing did not end after " << rules.max_pages << " pages (limit "
                   << rules.limit << ")";
        }
        RawResult page = rules.entries ? store.list_entries(ns, cursor, rules.limit, rules.stop_after)
                                       : store.list(ns, cursor, rules.limit, rules.stop_after);
        if (page.status != TOKEND_OK) {
            return ::testing::AssertionFailure() << call << " returned status " << page.status << ": "
                                                 << page.reply.error;
        }
        const size_t allowed = std::min(rules.limit, rules.stop_after);
        if (page.reply.keys.size() > rules.limit) {
            return ::testing::AssertionFailure() << "a page held " << page.reply.keys.size()
                                                 << " keys, more than the limit " << rules.limit;
        }
        if (page.reply.keys_after_stop > 0 || page.reply.keys.size() > allowed) {
            return ::testing::AssertionFailure()
                   << "the plugin went on giving keys after " << reply_fn << " returned non-zero ("
                   << page.reply.keys_after_stop << " more)";
        }
        if (!page.reply.values.empty()) return ::testing::AssertionFailure() << call << " replied with reply_value";
        // list gives keys only; list_entries a value with every key. A page may be empty.
        const size_t values_due = rules.entries ? page.reply.keys.size() : 0;
        if (page.reply.entry_values.size() != values_due) {
            return ::testing::AssertionFailure()
                   << call << " mixed reply_key and reply_entry (" << page.reply.keys.size() << " keys, "
                   << page.reply.entry_values.size() << " entries)";
        }
        for (size_t i = 0; i < page.reply.keys.size(); ++i) {
            ++seen->count[page.reply.keys[i]];
            if (rules.entries) seen->values[page.reply.keys[i]] = page.reply.entry_values[i];
        }
        if (page.reply.cursor.empty()) return ::testing::AssertionSuccess();
        if (page.reply.cursor == cursor && page.reply.keys.empty()) {
            return ::testing::AssertionFailure() << call << " returned its own cursor again with no keys";
        }
        cursor = page.reply.cursor;
        if (rules.between_pages) rules.between_pages();
    }
}

}  // namespace tokend::conformance
