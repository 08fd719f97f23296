// What the list and list_entries checks share: filling a store with many keys,
// and walking a listing to its end while checking every page against the
// paging rules of store.h.
#pragma once

#include "raw_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tokend::conformance {

// "prefix-00042": numbered keys that sort in their numeric order.
std::string numbered(const char* prefix, int n);

// Writes the keys, from several threads when the plugin is thread-safe: a durable
// store commits concurrent writes together, which is far faster than one by one.
// Each value is value_for(index), or "v" without it.
::testing::AssertionResult put_all(RawStore& store, Ns ns, const std::vector<std::string>& keys,
                                   const std::function<std::string(size_t index)>& value_for = {});

struct WalkRules {
    bool entries = false;              // walk list_entries instead of list
    uint32_t limit = 1000;
    uint32_t stop_after = UINT32_MAX;  // the probing host asks to stop after this many keys
    size_t max_pages = 100000;         // a listing that needs more is taken to loop forever
    // Called after each page, e.g. to change the store between pages.
    std::function<void()> between_pages;
};

// What a walk saw: how often each key came and, for list_entries, the value of
// its last appearance.
struct WalkSeen {
    std::map<std::string, int> count;
    std::map<std::string, std::string> values;
};

// Lists ns to the end, checking every page.
::testing::AssertionResult walk(RawStore& store, Ns ns, const WalkRules& rules, WalkSeen* seen);

}  // namespace tokend::conformance
