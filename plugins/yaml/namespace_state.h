// One key space (users or flows) in memory, plus what is needed to roll changes back
// to the last durable state when a commit fails. Not thread-safe: the store's mutex
// guards every call.
#pragma once

#include "entry.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tokend::yaml_store {

class NamespaceState {
public:
    // Loads an entry read from the file (the file already holds it: nothing to undo).
    void load(std::string key, EntryPtr entry);

    EntryPtr find(std::string_view key) const;
    size_t size() const { return entries_.size(); }

    // Inserts or replaces; the namespace becomes dirty.
    void put(std::string_view key, EntryPtr entry);
    // Removes and returns the entry; null (and nothing changes) when absent.
    EntryPtr erase(std::string_view key);

    // True while memory may differ from the file: changes not yet committed, a
    // commit in flight, or a failed commit whose outcome on disk is unknown.
    bool unsettled() const { return dirty_ || in_flight_; }

    // Up to limit entries in key order, after `after` (from the first key when
    // nullopt). *more tells whether keys follow the last one returned.
    std::vector<std::pair<std::string, EntryPtr>> entries_after(std::optional<std::string_view> after,
                                                                uint32_t limit, bool* more) const;

    // ---- commit protocol, driven by the group-commit leader ----
    // When dirty: the entries in file order as of now, and a new undo generation starts
    // for changes made while they are written. Nullopt when the file is up to date.
    std::optional<std::vector<EntryPtr>> begin_commit();
    // The content captured by begin_commit is durable.
    void commit_succeeded();
    // Back to the last durable state: undoes the changes of the failed commit and every
    // change made since. The namespace stays dirty, as the file may hold either state.
    void commit_failed();

private:
    using Undo = std::unordered_map<std::string, EntryPtr>;  // key -> value before (null: absent)

    void remember(std::string_view key, const EntryPtr& before);
    void restore(const Undo& undo);

    std::map<std::string, EntryPtr, std::less<>> entries_;
    Undo undo_;            // changes since the current commit's snapshot
    Undo in_flight_undo_;  // changes in the commit being written
    bool dirty_ = false;
    bool in_flight_ = false;
};

}  // namespace tokend::yaml_store
