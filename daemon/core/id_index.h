// An index from a string key to a small integer id, where the key lives with
// whatever the id names (the cache's user ids live in each packed context):
// open addressing with linear probing, each slot the id and 32 bits of the
// key's hash (8 bytes), backward-shift deletion (no tombstones), at most
// three quarters full. The caller passes key_of(id) to every call.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace tokend {

class IdIndex {
public:
    template <typename KeyOf>
    std::optional<uint32_t> find(std::string_view key, const KeyOf& key_of) const {
        if (slots_.empty()) return std::nullopt;
        const uint32_t hash = hash_of(key);
        for (size_t at = hash & mask(); slots_[at].id != kEmpty; at = (at + 1) & mask()) {
            if (slots_[at].hash == hash && key_of(slots_[at].id) == key) return slots_[at].id;
        }
        return std::nullopt;
    }

    // `id`'s key must not be in the index yet.
    template <typename KeyOf>
    void insert(uint32_t id, const KeyOf& key_of) {
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        place({id, hash_of(key_of(id))});
        ++size_;
    }

    // Returns whether the key was there.
    template <typename KeyOf>
    bool erase(std::string_view key, const KeyOf& key_of) {
        if (slots_.empty()) return false;
        const uint32_t hash = hash_of(key);
        size_t at = hash & mask();
        while (slots_[at].id != kEmpty && !(slots_[at].hash == hash && key_of(slots_[at].id) == key)) {
            at = (at + 1) & mask();
        }
        if (slots_[at].id == kEmpty) return false;
        // Pull later entries of the run back over the hole when their home allows.
        size_t hole = at;
        for (size_t next = (hole + 1) & mask(); slots_[next].id != kEmpty; next = (next + 1) & mask()) {
            const size_t home = slots_[next].hash & mask();
            if (((next - home) & mask()) >= ((next - hole) & mask())) {
                slots_[hole] = slots_[next];
                hole = next;
            }
        }
        slots_[hole] = Slot{};
        --size_;
        return true;
    }

    size_t size() const { return size_; }
    size_t capacity() const { return slots_.size(); }

private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    struct Slot {
        uint32_t id = kEmpty;
        uint32_t hash = 0;
    };

    static uint32_t hash_of(std::string_view key) {
        const uint64_t hash = std::hash<std::string_view>{}(key);
        return static_cast<uint32_t>(hash ^ (hash >> 32));
    }
    size_t mask() const { return slots_.size() - 1; }
    void place(Slot slot) {
        size_t at = slot.hash & mask();
        while (slots_[at].id != kEmpty) at = (at + 1) & mask();
        slots_[at] = slot;
    }
    void grow() {
        std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
        old.swap(slots_);
        for (const Slot& slot : old) {
            if (slot.id != kEmpty) place(slot);
        }
    }

    std::vector<Slot> slots_;  // a power of two long
    size_t size_ = 0;
};

}  // namespace tokend
