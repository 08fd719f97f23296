#include "core/refresh_schedule.h"

namespace tokend {
namespace {

int64_t micros(Timestamp at) { return at.time_since_epoch().count(); }

}  // namespace

void RefreshSchedule::place(size_t at, Entry entry) {
    heap_[at] = entry;
    position_[entry.id] = static_cast<uint32_t>(at);
}

void RefreshSchedule::sift_up(size_t at) {
    const Entry moving = heap_[at];
    while (at > 0) {
        const size_t parent = (at - 1) / 2;
        if (heap_[parent].deadline_us <= moving.deadline_us) break;
        place(at, heap_[parent]);
        at = parent;
    }
    place(at, moving);
}

void RefreshSchedule::sift_down(size_t at) {
    const Entry moving = heap_[at];
    const size_t count = heap_.size();
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= count) break;
        if (child + 1 < count && heap_[child + 1].deadline_us < heap_[child].deadline_us) ++child;
        if (moving.deadline_us <= heap_[child].deadline_us) break;
        place(at, heap_[child]);
        at = child;
    }
    place(at, moving);
}

void RefreshSchedule::set(Id id, Timestamp deadline, Group group) {
    if (id >= position_.size()) position_.resize(static_cast<size_t>(id) + 1, kAbsent);
    if (group >= group_sizes_.size()) group_sizes_.resize(static_cast<size_t>(group) + 1, 0);
    const Entry entry{micros(deadline), id, group};
    const uint32_t at = position_[id];
    ++group_sizes_[group];
    if (at == kAbsent) {
        heap_.push_back(entry);
        position_[id] = static_cast<uint32_t>(heap_.size() - 1);
        sift_up(heap_.size() - 1);
        return;
    }
    const int64_t before = heap_[at].deadline_us;
    --group_sizes_[heap_[at].group];
    heap_[at] = entry;
    if (entry.deadline_us < before) {
        sift_up(at);
    } else {
        sift_down(at);
    }
}

void RefreshSchedule::remove_at(size_t at) {
    position_[heap_[at].id] = kAbsent;
    --group_sizes_[heap_[at].group];
    const Entry last = heap_.back();
    heap_.pop_back();
    if (at == heap_.size()) return;
    place(at, last);
    // The moved entry may belong above or below its new place.
    if (at > 0 && heap_[(at - 1) / 2].deadline_us > last.deadline_us) {
        sift_up(at);
    } else {
        sift_down(at);
    }
}

void RefreshSchedule::erase(Id id) {
    if (!contains(id)) return;
    remove_at(position_[id]);
}

bool RefreshSchedule::contains(Id id) const { return id < position_.size() && position_[id] != kAbsent; }

std::optional<Timestamp> RefreshSchedule::deadline_of(Id id) const {
    if (!contains(id)) return std::nullopt;
    return Timestamp{std::chrono::microseconds{heap_[position_[id]].deadline_us}};
}

std::optional<Timestamp> RefreshSchedule::next() const {
    if (heap_.empty()) return std::nullopt;
    return Timestamp{std::chrono::microseconds{heap_.front().deadline_us}};
}

std::optional<RefreshSchedule::Id> RefreshSchedule::pop_due(Timestamp now) {
    if (heap_.empty() || heap_.front().deadline_us > micros(now)) return std::nullopt;
    const Id id = heap_.front().id;
    remove_at(0);
    return id;
}

}  // namespace tokend
