#include "core/iso_time.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace tokend {
namespace {

using namespace std::chrono;

// Reads exactly `count` digits at text[pos]; false if any is not a digit.
bool read_digits(std::string_view text, size_t pos, size_t count, int* out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    *out = value;
    return true;
}

// "00" to "99": two digits a division.
constexpr std::array<char, 200> kDigitPairs = [] {
    std::array<char, 200> pairs{};
    for (int i = 0; i < 100; ++i) {
        pairs[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
        pairs[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
    }
    return pairs;
}();

// Writes value as exactly `width` (an even number) decimal digits ending at out + width.
char* put_digits(char* out, unsigned value, int width) {
    for (int i = width - 2; i >= 0; i -= 2) {
        std::memcpy(out + i, &kDigitPairs[2 * (value % 100)], 2);
        value /= 100;
    }
    return out + width;
}

constexpr int64_t kMicrosADay = 86400LL * 1000000;
// 0001-01-01 and 10000-01-01 in microseconds since 1970: the years of four digits.
constexpr int64_t kYear1 = -719162LL * kMicrosADay;
constexpr int64_t kYear10000 = 2932897LL * kMicrosADay;

struct CivilDate {
    unsigned year, month, day;
};

// The date `days` days after 0001-01-01 (proleptic Gregorian): whole 400-,
// 100- and 4-year cycles, then the year, then the month counted from March so
// that February's leap day comes last.
CivilDate civil_date(int64_t days) {
    // From 0000-03-01, the start of a 400-year cycle: 0001-01-01 is day 306.
    const auto day = static_cast<uint64_t>(days) + 306;
    const uint64_t cycle = day / 146097, day_of_cycle = day % 146097;
    const uint64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
    const uint64_t day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    const uint64_t month_from_march = (5 * day_of_year + 2) / 153;
    const auto day_of_month = static_cast<unsigned>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    const auto month = static_cast<unsigned>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    const auto year = static_cast<unsigned>(cycle * 400 + year_of_cycle + (month <= 2 ? 1 : 0));
    return {year, month, day_of_month};
}

}  // namespace

std::string format_iso8601(Timestamp at) { return std::string(format_iso8601_text(at).view()); }

Iso8601Text format_iso8601_text(Timestamp at) {
    Iso8601Text result;
    const int64_t since_epoch = at.time_since_epoch().count();
    if (since_epoch >= kYear1 && since_epoch < kYear10000) {
        // By hand: every get_token answer carries one, and snprintf, then
        // chrono's calendar, were a large share of the request's instructions
        // (docs/benchmarks.md).
        const auto micros_of_day = static_cast<uint64_t>((since_epoch - kYear1) % kMicrosADay);
        const CivilDate date = civil_date((since_epoch - kYear1) / kMicrosADay);
        const auto seconds_of_day = static_cast<unsigned>(micros_of_day / 1000000);
        const auto micros = static_cast<unsigned>(micros_of_day % 1000000);
        char* const text = result.bytes;
        char* out = put_digits(text, date.year, 4);
        *out++ = '-';
        out = put_digits(out, date.month, 2);
        *out++ = '-';
        out = put_digits(out, date.day, 2);
        *out++ = 'T';
        out = put_digits(out, seconds_of_day / 3600, 2);
        *out++ = ':';
        out = put_digits(out, seconds_of_day / 60 % 60, 2);
        *out++ = ':';
        out = put_digits(out, seconds_of_day % 60, 2);
        if (micros != 0) {
            *out++ = '.';
            out = put_digits(out, static_cast<unsigned>(micros), 6);
        }
        std::memcpy(out, "+00:00", 6);
        out += 6;
        result.size = static_cast<size_t>(out - text);
        return result;
    }
    // Years a Python datetime cannot hold: as snprintf writes them.
    const auto day = floor<days>(at);
    const year_month_day date{day};
    const hh_mm_ss<microseconds> time{at - day};
    const long long micros = time.subseconds().count();
    int written;
    if (micros == 0) {
        written = std::snprintf(result.bytes, sizeof result.bytes, "%04d-%02u-%02uT%02lld:%02lld:%02lld+00:00",
                                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                                static_cast<unsigned>(date.day()), static_cast<long long>(time.hours().count()),
                                static_cast<long long>(time.minutes().count()),
                                static_cast<long long>(time.seconds().count()));
    } else {
        written = std::snprintf(result.bytes, sizeof result.bytes, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lld+00:00",
                                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                                static_cast<unsigned>(date.day()), static_cast<long long>(time.hours().count()),
                                static_cast<long long>(time.minutes().count()),
                                static_cast<long long>(time.seconds().count()), micros);
    }
    result.size = written > 0 ? std::min(static_cast<size_t>(written), sizeof result.bytes - 1) : 0;
    return result;
}

Result<Timestamp> parse_iso8601(std::string_view text) {
    auto fail = [&] { return Result<Timestamp>::failure("not an ISO 8601 datetime"); };
    int y, mo, d, h, mi, s;
    if (!read_digits(text, 0, 4, &y) || text.size() < 19 || text[4] != '-' ||
        !read_digits(text, 5, 2, &mo) || text[7] != '-' || !read_digits(text, 8, 2, &d) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !read_digits(text, 11, 2, &h) || text[13] != ':' || !read_digits(text, 14, 2, &mi) ||
        text[16] != ':' || !read_digits(text, 17, 2, &s)) {
        return fail();
    }
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                              day{static_cast<unsigned>(d)}};
    if (!date.ok() || h > 23 || mi > 59 || s > 59) return fail();

    size_t pos = 19;
    long long micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0 || digits > 9) return fail();
        for (size_t i = digits; i < 6; ++i) micros *= 10;
    }

    minutes offset{0};
    if (pos < text.size()) {
        const char sign = text[pos];
        if ((sign == 'Z' || sign == 'z') && pos + 1 == text.size()) {
            pos += 1;
        } else if (sign == '+' || sign == '-') {
            int oh = 0, om = 0;
            if (!read_digits(text, pos + 1, 2, &oh)) return fail();
            size_t end = pos + 3;
            if (end < text.size() && text[end] == ':') {
                if (!read_digits(text, end + 1, 2, &om)) return fail();
                end += 3;
            } else if (end < text.size()) {
                if (!read_digits(text, end, 2, &om)) return fail();
                end += 2;
            }
            if (end != text.size() || oh > 23 || om > 59) return fail();
            offset = hours{oh} + minutes{om};
            if (sign == '-') offset = -offset;
            pos = end;
        } else {
            return fail();
        }
    }
    if (pos != text.size()) return fail();

    // Python's datetime range, years 1 to 9999, in UTC: what tokend writes must
    // read back, and "0000-01-01T00:00:00+01:00" formatted as year -1 did not
    // (found by fuzz/iso_time_fuzzer.cpp).
    static const Timestamp kFirst = sys_days{year{1} / January / 1};
    static const Timestamp kLast = sys_days{year{9999} / December / 31} + days{1} - microseconds{1};
    const Timestamp local = sys_days{date} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros};
    const Timestamp utc = local - offset;
    if (utc < kFirst || utc > kLast) return fail();
    return utc;
}

}  // namespace tokend
