#include "namespace_state.h"

namespace tokend::yaml_store {

void NamespaceState::load(std::string key, EntryPtr entry) {
    entries_.insert_or_assign(std::move(key), std::move(entry));
}

EntryPtr NamespaceState::find(std::string_view key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
}

void NamespaceState::remember(std::string_view key, const EntryPtr& before) {
    // Only the first change since the snapshot matters: that is the value to go back to.
    undo_.try_emplace(std::string(key), before);
}

void NamespaceState::put(std::string_view key, EntryPtr entry) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        remember(key, nullptr);
        entries_.emplace(std::string(key), std::move(entry));
    } else {
        remember(key, it->second);
        it->second = std::move(entry);
    }
    dirty_ = true;
}

EntryPtr NamespaceState::erase(std::string_view key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    EntryPtr removed = std::move(it->second);
    remember(key, removed);
    entries_.erase(it);
    dirty_ = true;
    return removed;
}

std::vector<std::pair<std::string, EntryPtr>> NamespaceState::entries_after(
    std::optional<std::string_view> after, uint32_t limit, bool* more) const {
    std::vector<std::pair<std::string, EntryPtr>> page;
    auto it = after ? entries_.upper_bound(*after) : entries_.begin();
    for (; it != entries_.end() && page.size() < limit; ++it) page.emplace_back(it->first, it->second);
    *more = it != entries_.end();
    return page;
}

std::optional<std::vector<EntryPtr>> NamespaceState::begin_commit() {
    if (!dirty_) return std::nullopt;
    std::vector<EntryPtr> snapshot;
    snapshot.reserve(entries_.size());
    for (const auto& [key, entry] : entries_) snapshot.push_back(entry);
    // Nothing below throws, so a failure above leaves the state untouched.
    in_flight_undo_ = std::move(undo_);
    undo_.clear();
    in_flight_ = true;
    dirty_ = false;
    return snapshot;
}

void NamespaceState::commit_succeeded() {
    in_flight_undo_.clear();
    in_flight_ = false;
}

void NamespaceState::restore(const Undo& undo) {
    for (const auto& [key, before] : undo) {
        if (before) {
            entries_.insert_or_assign(key, before);
        } else {
            entries_.erase(key);
        }
    }
}

void NamespaceState::commit_failed() {
    // Newer changes first, so a key changed in both generations ends at its oldest value.
    const bool changed = in_flight_ || !undo_.empty();
    restore(undo_);
    restore(in_flight_undo_);
    undo_.clear();
    in_flight_undo_.clear();
    in_flight_ = false;
    dirty_ = dirty_ || changed;
}

}  // namespace tokend::yaml_store
