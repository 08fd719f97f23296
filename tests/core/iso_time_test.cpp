#include "core/iso_time.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, long us = 0) {
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} +
           microseconds{us};
}

TEST(IsoTime, FormatsLikePythonIsoformat) {
    EXPECT_EQ(format_iso8601(at(2026, 12, 12, 10, 0, 0, 123456)), "2026-12-12T10:00:00.123456+00:00");
    // Python leaves the fraction out when it is zero.
    EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5)), "2026-01-02T03:04:05+00:00");
    EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5, 1)), "2026-01-02T03:04:05.000001+00:00");
}

TEST(IsoTime, ParsesTheOriginalsShape) {
    auto parsed = parse_iso8601("2026-12-12T10:00:00.123456+00:00");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, at(2026, 12, 12, 10, 0, 0, 123456));
}

TEST(IsoTime, ParsesOtherWritersForms) {
    const Timestamp expected = at(2026, 12, 12, 10, 0, 0, 500000);
    for (const char* text : {"2026-12-12T10:00:00.5Z", "2026-12-12 10:00:00.500000+00:00",
                             "2026-12-12T11:30:00.5+01:30", "2026-12-12T08:00:00.5-0200",
                             "2026-12-12T12:00:00.500000999+02", "2026-12-12t10:00:00.5z",
                             "2026-12-12T10:00:00.5"}) {
        auto parsed = parse_iso8601(text);
        ASSERT_TRUE(parsed) << text;
        EXPECT_EQ(*parsed, expected) << text;
    }
}

TEST(IsoTime, RoundTripsAcrossYears) {
    for (Timestamp t : {at(1970, 1, 1, 0, 0, 0), at(2000, 2, 29, 23, 59, 59, 999999),
                        at(2038, 1, 19, 3, 14, 8, 42), at(2099, 12, 31, 0, 0, 1, 100)}) {
        auto parsed = parse_iso8601(format_iso8601(t));
        ASSERT_TRUE(parsed);
        EXPECT_EQ(*parsed, t);
    }
}

// What snprintf writes from chrono's calendar: the reference for the digits
// and the calendar written by hand.
std::string snprintf_text(Timestamp t) {
    const auto day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss<microseconds> time{t - day};
    char expected[48];
    std::snprintf(expected, sizeof expected, "%04d-%02u-%02uT%02lld:%02lld:%02lld", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                  static_cast<long long>(time.seconds().count()));
    std::string want = expected;
    if (time.subseconds().count() != 0) {
        std::snprintf(expected, sizeof expected, ".%06lld", static_cast<long long>(time.subseconds().count()));
        want += expected;
    }
    return want + "+00:00";
}

// Instants of every year a Python datetime holds, whole seconds and not, and
// any microsecond of them.
TEST(IsoTime, FormatsAsSnprintfWould) {
    std::mt19937_64 random(27);
    for (int i = 0; i < 20000; ++i) {
        const int y = 1 + static_cast<int>(random() % 9999);
        const Timestamp t = at(y, 1 + random() % 12, 1 + random() % 28, static_cast<int>(random() % 24),
                               static_cast<int>(random() % 60), static_cast<int>(random() % 60),
                               i % 3 == 0 ? 0 : static_cast<long>(random() % 1000000));
        ASSERT_EQ(format_iso8601(t), snprintf_text(t));
    }
    const int64_t first = at(1, 1, 1, 0, 0, 0).time_since_epoch().count();
    const int64_t last = at(9999, 12, 31, 23, 59, 59, 999999).time_since_epoch().count();
    for (int i = 0; i < 20000; ++i) {
        const Timestamp t{microseconds{first + static_cast<int64_t>(random() % static_cast<uint64_t>(last - first + 1))}};
        ASSERT_EQ(format_iso8601(t), snprintf_text(t));
    }
}

// Every day around the turns of years where the leap rules differ, and the ends.
TEST(IsoTime, FormatsEveryDayAroundLeapYearsAsSnprintfWould) {
    for (int y : {1, 4, 100, 400, 1600, 1900, 1970, 2000, 2100, 2400, 9996, 9999}) {
        for (int d = -400; d <= 400; ++d) {
            const Timestamp t = at(y, 1, 1, 0, 0, 0) + days{d} + seconds{d % 86400 + 86400} / 2;
            if (t < at(1, 1, 1, 0, 0, 0) || t > at(9999, 12, 31, 23, 59, 59, 999999)) continue;
            ASSERT_EQ(format_iso8601(t), snprintf_text(t));
        }
    }
    EXPECT_EQ(format_iso8601(at(1, 1, 1, 0, 0, 0)), "0001-01-01T00:00:00+00:00");
    EXPECT_EQ(format_iso8601(at(9999, 12, 31, 23, 59, 59, 999999)), "9999-12-31T23:59:59.999999+00:00");
    EXPECT_EQ(format_iso8601(at(2000, 2, 29, 12, 0, 0)), "2000-02-29T12:00:00+00:00");
    // Beyond four-digit years: snprintf's text, just past either end.
    for (Timestamp t : {at(10000, 1, 1, 0, 0, 0), at(0, 12, 31, 23, 59, 59, 999999), at(-1, 6, 1, 1, 2, 3, 4)}) {
        EXPECT_EQ(format_iso8601(t), snprintf_text(t));
    }
    EXPECT_EQ(format_iso8601(at(10000, 1, 1, 0, 0, 0)), "10000-01-01T00:00:00+00:00");
}

TEST(IsoTime, RejectsGarbage) {
    for (const char* text :
         {"", "2026", "2026-12-12", "2026-13-01T00:00:00+00:00", "2026-02-30T00:00:00+00:00",
          "2026-12-12T24:00:00+00:00", "2026-12-12T10:60:00Z", "2026-12-12T10:00:61Z",
          "2026-12-12T10:00:00.Z", "2026-12-12T10:00:00.1234567890Z", "2026-12-12T10:00:00+25:00",
          "2026-12-12T10:00:00+01:", "2026-12-12T10:00:00Zjunk", "2026-12-12X10:00:00Z",
          "20a6-12-12T10:00:00Z", "2026-12-12T10:00:00 +00:00", "1764000000"}) {
        EXPECT_FALSE(parse_iso8601(text)) << text;
    }
}

// Found by fuzz/iso_time_fuzzer.cpp (parse, format, parse again): these parsed
// to instants before year 1 or after 9999 in UTC, which format_iso8601 wrote as
// "-001-12-31T23:00:00+00:00" or "10000-01-01T..." and nothing read back: a
// context stored with such a time became unreadable after tokend's next write.
TEST(IsoTime, RefusesInstantsOutsidePythonsYearsOneTo9999) {
    for (const char* text : {"0000-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z", "0001-01-01T00:59:59+01:00",
                             "9999-12-31T23:59:59-01:00", "9999-12-31T23:30:00-00:31"}) {
        EXPECT_FALSE(parse_iso8601(text)) << text;
    }
    // The edges themselves are fine and round-trip.
    for (const char* text : {"0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00",
                             "0001-01-01T01:00:00+01:00", "9999-12-31T22:59:59-01:00"}) {
        auto parsed = parse_iso8601(text);
        ASSERT_TRUE(parsed) << text;
        auto again = parse_iso8601(format_iso8601(*parsed));
        ASSERT_TRUE(again) << format_iso8601(*parsed);
        EXPECT_EQ(*again, *parsed) << text;
    }
}

TEST(IsoTime, ManualClockMovesOnlyWhenTold) {
    ManualClock clock(at(2026, 1, 1, 0, 0, 0));
    const Clock& source = clock;
    EXPECT_EQ(source.now(), at(2026, 1, 1, 0, 0, 0));
    clock.advance(days{14});
    EXPECT_EQ(source.now(), at(2026, 1, 15, 0, 0, 0));
}

}  // namespace
}  // namespace tokend
