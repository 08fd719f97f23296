// The loop's timers in deadline order, as libuv keeps them: equal deadlines
// run in the order they were set, and a pass runs only what was set before it
// began (a timer set from a callback with no delay waits for the next pass, so
// a callback that keeps re-setting itself cannot hold the loop). One timerfd
// armed at earliest() drives the whole queue (io/loop_timers.h).
//
// PURE: no clock; the caller says what "now" is, in milliseconds of one clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace tokend {

// Item: what a timer is known by (a handle pointer, an id); one entry each.
template <typename Item>
class TimerQueue {
public:
    // Sets `item` to come due at `deadline_ms` (replacing any earlier setting).
    void set(Item item, uint64_t deadline_ms) {
        cancel(item);
        const Key key{deadline_ms, next_order_++};
        by_deadline_.emplace(key, item);
        keys_.emplace(item, key);
    }
    // Removes `item`; false when it was not set.
    bool cancel(Item item) {
        const auto found = keys_.find(item);
        if (found == keys_.end()) return false;
        by_deadline_.erase(found->second);
        keys_.erase(found);
        return true;
    }
    bool contains(Item item) const { return keys_.count(item) > 0; }

    // The earliest deadline, if any.
    std::optional<uint64_t> earliest() const {
        if (by_deadline_.empty()) return std::nullopt;
        return by_deadline_.begin()->first.deadline_ms;
    }
    // A mark for take_due: what is set from here on waits for the next pass.
    uint64_t pass_mark() const { return next_order_; }
    // Removes and returns the earliest item due at `now_ms` that was set
    // before `mark`; nothing when there is none.
    std::optional<Item> take_due(uint64_t now_ms, uint64_t mark) {
        for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first.deadline_ms <= now_ms; ++it) {
            if (it->first.order >= mark) continue;
            const Item item = it->second;
            keys_.erase(item);
            by_deadline_.erase(it);
            return item;
        }
        return std::nullopt;
    }

    size_t size() const { return keys_.size(); }
    bool empty() const { return keys_.empty(); }
    // Every item with its deadline, earliest first (to hand them elsewhere).
    template <typename Visit>
    void for_each(Visit visit) const {
        for (const auto& [key, item] : by_deadline_) visit(item, key.deadline_ms);
    }
    void clear() {
        by_deadline_.clear();
        keys_.clear();
    }

private:
    struct Key {
        uint64_t deadline_ms;
        uint64_t order;  // ties in the order set
        bool operator<(const Key& other) const {
            return deadline_ms != other.deadline_ms ? deadline_ms < other.deadline_ms : order < other.order;
        }
    };
    std::map<Key, Item> by_deadline_;
    std::unordered_map<Item, Key> keys_;
    uint64_t next_order_ = 0;
};

}  // namespace tokend
