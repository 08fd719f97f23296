// The refresh schedule: one deadline per user, the earliest always at hand.
// An indexed binary min-heap over small integer ids (the caller maps users to
// ids), so set/erase cost O(log n), the next deadline O(1), and a user costs
// 16 bytes in the heap plus 4 in the index. One libuv timer armed at next()
// drives the whole schedule. Each entry carries a small group number (the
// user's integration) in what was padding, so size_of(group) is O(1).
//
// PURE: no clock; the caller says what "now" is.
#pragma once

#include "core/iso_time.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tokend {

class RefreshSchedule {
public:
    using Id = uint32_t;

    using Group = uint16_t;
    // Inserts `id` in `group` or moves its deadline (and group).
    void set(Id id, Timestamp deadline, Group group = 0);
    // Removes `id`; no-op when absent.
    void erase(Id id);
    bool contains(Id id) const;
    std::optional<Timestamp> deadline_of(Id id) const;

    // The earliest deadline, if any.
    std::optional<Timestamp> next() const;
    // Removes and returns the earliest id if its deadline is at or before `now`.
    std::optional<Id> pop_due(Timestamp now);

    size_t size() const { return heap_.size(); }
    // Entries of one group.
    size_t size_of(Group group) const { return group < group_sizes_.size() ? group_sizes_[group] : 0; }
    bool empty() const { return heap_.empty(); }

private:
    struct Entry {
        int64_t deadline_us;
        Id id;
        Group group;  // in the padding: an entry stays 16 bytes
    };
    static_assert(sizeof(Entry) == 16, "the group lives in what was padding");
    static constexpr uint32_t kAbsent = UINT32_MAX;

    void place(size_t at, Entry entry);
    void sift_up(size_t at);
    void sift_down(size_t at);
    void remove_at(size_t at);

    std::vector<Entry> heap_;
    std::vector<uint32_t> position_;  // id -> index in heap_, kAbsent when not scheduled
    std::vector<size_t> group_sizes_;  // group -> entries of it
};

}  // namespace tokend
