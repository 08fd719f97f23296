// Time as the core sees it: a UTC instant with microseconds, passed in by the
// caller (the core never reads a clock), and its ISO 8601 text form as the
// original Python module wrote it (datetime.isoformat() of an aware UTC time).
#pragma once

#include "core/result.h"

#include <chrono>
#include <string>
#include <string_view>

namespace tokend {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Source of "now" for the edges; the core takes Timestamps as arguments instead.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Timestamp now() const = 0;
};

// A clock tests move by hand.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Timestamp start) : now_(start) {}
    Timestamp now() const override { return now_; }
    void set(Timestamp at) { now_ = at; }
    void advance(std::chrono::microseconds by) { now_ += by; }

private:
    Timestamp now_;
};

// "2026-12-12T10:00:00.123456+00:00"; the fraction is left out when it is zero,
// exactly as Python's isoformat() does.
std::string format_iso8601(Timestamp at);
// The same text in place, for answers written without a string of their own
// (get_token's, the hot path).
struct Iso8601Text {
    char bytes[48];
    size_t size = 0;
    std::string_view view() const { return {bytes, size}; }
};
Iso8601Text format_iso8601_text(Timestamp at);

// Accepts what Python and other writers produce: 'T' or ' ' between date and
// time, 0 to 9 fraction digits (kept to microseconds, rest truncated), and a
// 'Z', '+HH:MM', '+HHMM', '+HH' offset; a time without offset is taken as UTC.
// Fails on anything else, including out-of-range fields.
Result<Timestamp> parse_iso8601(std::string_view text);

}  // namespace tokend
