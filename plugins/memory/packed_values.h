// The memory store's values: each key and its value in one allocation, kept
// sorted by key (a list page resumes after the last key given). A million
// users are a million values: a std::map<string, string> spent a 96-byte node
// and two more allocations on each.
#pragma once

#include <cstring>
#include <memory>
#include <set>
#include <string_view>

namespace tokend::memory_store {

class PackedEntry {
public:
    PackedEntry(std::string_view key, std::string_view value) : key_size_(key.size()) { assign(key, value); }

    std::string_view key() const { return {block_.get(), key_size_}; }
    std::string_view value() const { return {block_.get() + key_size_, value_size_}; }
    // The key stays as it is, so the entry keeps its place in the set.
    void set_value(std::string_view value) const { assign(key(), value); }

private:
    void assign(std::string_view key, std::string_view value) const {
        std::unique_ptr<char[]> block(new char[key.size() + value.size()]);
        if (!key.empty()) std::memcpy(block.get(), key.data(), key.size());
        if (!value.empty()) std::memcpy(block.get() + key.size(), value.data(), value.size());
        block_ = std::move(block);  // last: `key` may point into the old block
        value_size_ = value.size();
    }

    mutable std::unique_ptr<char[]> block_;
    size_t key_size_;
    mutable size_t value_size_ = 0;
};

struct ByKey {
    using is_transparent = void;
    bool operator()(const PackedEntry& a, const PackedEntry& b) const { return a.key() < b.key(); }
    bool operator()(const PackedEntry& a, std::string_view b) const { return a.key() < b; }
    bool operator()(std::string_view a, const PackedEntry& b) const { return a < b.key(); }
};

using PackedValues = std::set<PackedEntry, ByKey>;

inline void put_value(PackedValues& values, std::string_view key, std::string_view value) {
    if (auto it = values.find(key); it != values.end()) {
        it->set_value(value);
    } else {
        values.emplace(key, value);
    }
}

}  // namespace tokend::memory_store
