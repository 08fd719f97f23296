// A control request's members as the operations read them, the same over the
// protocol's two parses (core/control_protocol.h): the plain parse leaves its
// scalars where they stand in the request line (a get_token allocates nothing
// for them), the full parse keeps its JSON object. A plain request's views are
// good while its line is, so a handler copies what it keeps past its call.
#pragma once

#include "core/tokens.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace tokend {

// One member's value.
struct Param {
    // other: an object, an array, a negative or fractional number (only the full parse has them).
    enum class Kind : uint8_t { absent, null, boolean, whole_number, string, other };
    std::string_view text;       // string
    uint64_t number = 0;         // whole_number: what nlohmann reads as unsigned
    const Json* json = nullptr;  // the value in the full parse's object; null from the plain parse
    Kind kind = Kind::absent;
    bool flag = false;           // boolean

    // Present and not null.
    bool given() const { return kind != Kind::absent && kind != Kind::null; }
    // The value as JSON (null when absent).
    Json to_json() const;
};

class RequestParams {
public:
    static constexpr size_t kMaxPlainMembers = 8;

    RequestParams() = default;
    // The full parse's object, op and id included.
    explicit RequestParams(Json object);
    // A plain parse's member; each key once (the parse checks), at most kMaxPlainMembers.
    void add_plain(std::string_view key, const Param& value);
    // No members, as default-constructed.
    void clear();

    // The member named key (kind absent when there is none).
    Param find(std::string_view key) const;
    // Every member, in order, as one JSON object: what the two parses are compared by.
    Json to_json() const;

private:
    Json object_;  // the full parse's; null for a plain request
    std::array<std::pair<std::string_view, Param>, kMaxPlainMembers> plain_{};
    size_t plain_count_ = 0;
};

}  // namespace tokend
