// A user context as the cache holds a million of them: one allocation with
// the user id and both tokens side by side, the two times as integers, the
// scope and token type as ids into a shared pool (a few distinct values across
// all users), and unknown fields (rare) as their JSON text, only when present.
// pack() and unpack() round-trip everything a UserContext holds; the hot path
// (get_token) reads the fields in place without unpacking.
#pragma once

#include "core/refresh_policy.h"
#include "core/user_context.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tokend {

// Shared immutable strings with reference counts: each context takes a
// reference to its scope and token type and gives it back when replaced or
// forgotten, so values nobody uses any more do not pile up.
class InternPool {
public:
    static constexpr uint32_t kNone = UINT32_MAX;  // an absent (nullopt) value

    uint32_t acquire(const std::optional<std::string>& value);
    void release(uint32_t id);
    std::optional<std::string> value_of(uint32_t id) const;
    size_t distinct() const { return entries_.size() - free_.size(); }

private:
    struct Entry {
        std::unique_ptr<const std::string> text;  // stable address: the index keys view it
        uint32_t references = 0;
    };
    std::vector<Entry> entries_;
    std::vector<uint32_t> free_;
    std::unordered_map<std::string_view, uint32_t> index_;
};

class CompactContext {
public:
    CompactContext() = default;  // empty: holds nothing (a moved-from or unused slot)
    // Takes references in `pool` for the scope and token type (release_into gives them back).
    static CompactContext pack(const UserContext& context, InternPool& pool);

    UserContext unpack(const InternPool& pool) const;
    Tokens tokens(const InternPool& pool) const;
    // Whether it holds exactly `context` (what unpack() would return).
    bool equals(const UserContext& context, const InternPool& pool) const;
    // Gives back the pool references and frees the block.
    void release_into(InternPool& pool);

    bool empty() const { return block_ == nullptr; }
    std::string_view user_id() const;
    // The access token's bytes (nullopt: no access token); a reference into the block.
    std::optional<std::string_view> access_token() const;
    TokenTimes times() const;
    size_t allocated_bytes() const;

private:
    struct Header;
    struct Free {
        void operator()(Header* header) const;
    };
    std::unique_ptr<Header, Free> block_;
};

}  // namespace tokend
