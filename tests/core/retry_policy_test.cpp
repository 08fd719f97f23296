#include "core/retry_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tokend {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-03-01T12:00:00Z, a Sunday.
Timestamp at_noon() {
    using namespace std::chrono;
    return Timestamp{sys_days{year{2026} / March / 1} + hours{12}};
}

Timestamp utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
    using namespace std::chrono;
    return Timestamp{sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss}};
}

AttemptOutcome status(int code, std::string_view retry_after = {}) {
    AttemptOutcome outcome;
    outcome.status = code;
    outcome.retry_after = retry_after;
    return outcome;
}

AttemptOutcome transport_error() {
    AttemptOutcome outcome;
    outcome.transport_error = true;
    return outcome;
}

// --- which outcomes are worth another attempt ---

TEST(RetryPolicyTest, TransportErrorsAndTimeoutsAreRetryable) {
    EXPECT_TRUE(is_retryable(transport_error()));
    AttemptOutcome timed_out;
    timed_out.timed_out = true;
    timed_out.transport_error = true;
    EXPECT_TRUE(is_retryable(timed_out));
    AttemptOutcome only_timed_out;
    only_timed_out.timed_out = true;
    EXPECT_TRUE(is_retryable(only_timed_out));
    // Status 0 is what the client reports when there was no HTTP answer.
    EXPECT_TRUE(is_retryable(status(0)));
}

TEST(RetryPolicyTest, CancelledAttemptsAreNeverRetried) {
    AttemptOutcome cancelled = transport_error();
    cancelled.cancelled = true;
    EXPECT_FALSE(is_retryable(cancelled));
    EXPECT_FALSE(decide_retry(RetryPolicy{}, 1, cancelled, 0.5, at_noon()).retry);
}

TEST(RetryPolicyTest, ServerErrorsExcept501AndTooManyRequestsAreRetryable) {
    for (int code : {429, 500, 502, 503, 504, 505, 507, 599}) EXPECT_TRUE(is_retryable(status(code))) << code;
    EXPECT_FALSE(is_retryable(status(501)));
}

TEST(RetryPolicyTest, OtherStatusesAreNot) {
    for (int code : {100, 101, 200, 201, 204, 301, 302, 304, 307, 400, 401, 403, 404, 405,
                     408, 409, 410, 413, 418, 422, 428, 431, 451, 499, 600, 999, -1}) {
        EXPECT_FALSE(is_retryable(status(code))) << code;
    }
}

TEST(RetryPolicyTest, AnAnswerThatAsksForARetryIsRetryable) {
    // Slack's HTTP 200 {"ok":false,"error":"ratelimited"}: read by the request's own rule.
    AttemptOutcome asks = status(200);
    asks.answer_asks_retry = true;
    EXPECT_TRUE(is_retryable(asks));
    EXPECT_TRUE(decide_retry(RetryPolicy{}, 1, asks, 0.5, at_noon()).retry);
    EXPECT_FALSE(decide_retry(RetryPolicy{}, RetryPolicy{}.max_attempts, asks, 0.5, at_noon()).retry);
    asks.cancelled = true;
    EXPECT_FALSE(is_retryable(asks));
}

// --- full-jitter backoff ---

TEST(RetryPolicyTest, BackoffCeilingDoublesFromBaseUpToCap) {
    const RetryPolicy policy;  // base 500 ms, cap 30 s
    EXPECT_EQ(backoff_delay(policy, 1, 1.0), milliseconds(500));
    EXPECT_EQ(backoff_delay(policy, 2, 1.0), milliseconds(1000));
    EXPECT_EQ(backoff_delay(policy, 3, 1.0), milliseconds(2000));
    EXPECT_EQ(backoff_delay(policy, 4, 1.0), milliseconds(4000));
    EXPECT_EQ(backoff_delay(policy, 6, 1.0), milliseconds(16000));
    EXPECT_EQ(backoff_delay(policy, 7, 1.0), milliseconds(30000));  // 32 s, capped
    EXPECT_EQ(backoff_delay(policy, 8, 1.0), milliseconds(30000));
}

TEST(RetryPolicyTest, BackoffIsTheFractionOfTheCeiling) {
    const RetryPolicy policy;
    EXPECT_EQ(backoff_delay(policy, 1, 0.0), milliseconds(0));
    EXPECT_EQ(backoff_delay(policy, 1, 0.5), milliseconds(250));
    EXPECT_EQ(backoff_delay(policy, 3, 0.25), milliseconds(500));
    EXPECT_EQ(backoff_delay(policy, 3, 0.9999), milliseconds(2000));  // rounded
    EXPECT_EQ(backoff_delay(policy, 20, 0.5), milliseconds(15000));
}

TEST(RetryPolicyTest, BackoffStaysInsideTheWindowAndGrowsWithTheFraction) {
    const RetryPolicy policy;
    for (int attempt = 1; attempt <= 12; ++attempt) {
        const milliseconds ceiling = backoff_delay(policy, attempt, 1.0);
        milliseconds previous{0};
        for (int step = 0; step <= 1000; ++step) {
            const milliseconds delay = backoff_delay(policy, attempt, step / 1000.0);
            ASSERT_GE(delay, milliseconds(0));
            ASSERT_LE(delay, ceiling);
            ASSERT_GE(delay, previous) << "attempt " << attempt << " step " << step;
            previous = delay;
        }
    }
}

TEST(RetryPolicyTest, BackoffDoesNotOverflowForHugeAttemptCounts) {
    const RetryPolicy policy;
    EXPECT_EQ(backoff_delay(policy, 64, 1.0), milliseconds(30000));
    EXPECT_EQ(backoff_delay(policy, 1000, 1.0), milliseconds(30000));
    EXPECT_EQ(backoff_delay(policy, std::numeric_limits<int>::max(), 1.0), milliseconds(30000));
    RetryPolicy huge_cap;
    huge_cap.cap = milliseconds::max();
    huge_cap.base = milliseconds(1);
    const milliseconds far = backoff_delay(huge_cap, 200, 1.0);
    EXPECT_GT(far, milliseconds(0));
    EXPECT_LE(far, milliseconds::max());
}

TEST(RetryPolicyTest, BackoffClampsOddFractions) {
    const RetryPolicy policy;
    EXPECT_EQ(backoff_delay(policy, 1, -0.5), milliseconds(0));
    EXPECT_EQ(backoff_delay(policy, 1, 7.0), milliseconds(500));
    EXPECT_EQ(backoff_delay(policy, 1, std::numeric_limits<double>::infinity()), milliseconds(500));
    EXPECT_EQ(backoff_delay(policy, 1, -std::numeric_limits<double>::infinity()), milliseconds(0));
    EXPECT_EQ(backoff_delay(policy, 1, std::nan("")), milliseconds(0));
}

TEST(RetryPolicyTest, BackoffWithOddPolicies) {
    RetryPolicy base_above_cap;
    base_above_cap.base = milliseconds(5000);
    base_above_cap.cap = milliseconds(1000);
    EXPECT_EQ(backoff_delay(base_above_cap, 1, 1.0), milliseconds(1000));
    RetryPolicy zero_base;
    zero_base.base = milliseconds(0);
    EXPECT_EQ(backoff_delay(zero_base, 5, 1.0), milliseconds(0));
    RetryPolicy negative;
    negative.base = milliseconds(-10);
    negative.cap = milliseconds(-10);
    EXPECT_EQ(backoff_delay(negative, 3, 1.0), milliseconds(0));
    // Attempt counts below 1 count as the first attempt.
    EXPECT_EQ(backoff_delay(RetryPolicy{}, 0, 1.0), milliseconds(500));
    EXPECT_EQ(backoff_delay(RetryPolicy{}, -4, 1.0), milliseconds(500));
}

// --- decisions ---

TEST(RetryPolicyTest, RetriesUntilMaxAttempts) {
    const RetryPolicy policy;  // 5 attempts
    for (int attempts = 1; attempts <= 4; ++attempts) {
        const RetryDecision decision = decide_retry(policy, attempts, status(503), 1.0, at_noon());
        EXPECT_TRUE(decision.retry) << attempts;
        EXPECT_FALSE(decision.from_retry_after);
        EXPECT_EQ(decision.delay, backoff_delay(policy, attempts, 1.0));
    }
    EXPECT_FALSE(decide_retry(policy, 5, status(503), 1.0, at_noon()).retry);
    EXPECT_FALSE(decide_retry(policy, 6, status(503), 1.0, at_noon()).retry);
}

TEST(RetryPolicyTest, OneAttemptMeansNoRetry) {
    RetryPolicy policy;
    policy.max_attempts = 1;
    EXPECT_FALSE(decide_retry(policy, 1, transport_error(), 0.5, at_noon()).retry);
    policy.max_attempts = 0;
    EXPECT_FALSE(decide_retry(policy, 1, transport_error(), 0.5, at_noon()).retry);
}

TEST(RetryPolicyTest, NoRetryForSuccessOrClientErrors) {
    const RetryPolicy policy;
    for (int code : {200, 302, 400, 401, 403, 404}) {
        const RetryDecision decision = decide_retry(policy, 1, status(code), 0.5, at_noon());
        EXPECT_FALSE(decision.retry) << code;
        EXPECT_EQ(decision.delay, milliseconds(0));
    }
}

TEST(RetryPolicyTest, RetryAfterSecondsWinsOverBackoff) {
    const RetryPolicy policy;
    RetryDecision decision = decide_retry(policy, 1, status(429, "7"), 0.1, at_noon());
    EXPECT_TRUE(decision.retry);
    EXPECT_TRUE(decision.from_retry_after);
    EXPECT_EQ(decision.delay, seconds(7));
    // Shorter than the backoff would be: still the server's word.
    decision = decide_retry(policy, 4, status(503, "0"), 1.0, at_noon());
    EXPECT_TRUE(decision.retry);
    EXPECT_EQ(decision.delay, milliseconds(0));
    // Longer than the backoff cap: allowed up to retry_after_cap.
    decision = decide_retry(policy, 1, status(503, "120"), 1.0, at_noon());
    EXPECT_EQ(decision.delay, seconds(120));
}

TEST(RetryPolicyTest, RetryAfterIsCapped) {
    RetryPolicy policy;
    RetryDecision decision = decide_retry(policy, 1, status(429, "86400"), 0.5, at_noon());
    EXPECT_TRUE(decision.retry);
    EXPECT_TRUE(decision.from_retry_after);
    EXPECT_EQ(decision.delay, std::chrono::minutes(5));
    decision = decide_retry(policy, 1, status(429, "99999999999999999999999999"), 0.5, at_noon());
    EXPECT_EQ(decision.delay, std::chrono::minutes(5));
    policy.retry_after_cap = seconds(10);
    decision = decide_retry(policy, 1, status(429, "11"), 0.5, at_noon());
    EXPECT_EQ(decision.delay, seconds(10));
}

TEST(RetryPolicyTest, RetryAfterDoesNotMakeAClientErrorRetryable) {
    EXPECT_FALSE(decide_retry(RetryPolicy{}, 1, status(400, "1"), 0.5, at_noon()).retry);
    EXPECT_FALSE(decide_retry(RetryPolicy{}, 1, status(200, "1"), 0.5, at_noon()).retry);
    EXPECT_FALSE(decide_retry(RetryPolicy{}, 1, status(501, "1"), 0.5, at_noon()).retry);
}

TEST(RetryPolicyTest, RetryAfterDoesNotExtendMaxAttempts) {
    EXPECT_FALSE(decide_retry(RetryPolicy{}, 5, status(429, "1"), 0.5, at_noon()).retry);
}

TEST(RetryPolicyTest, InvalidRetryAfterFallsBackToBackoff) {
    const RetryPolicy policy;
    for (std::string_view bad : {"soon", "-5", "1.5", "12abc", "+3", "0x10", "Sun, 01 Mar 2026 12:00:30 UTC"}) {
        const RetryDecision decision = decide_retry(policy, 2, status(503, bad), 0.5, at_noon());
        EXPECT_TRUE(decision.retry) << bad;
        EXPECT_FALSE(decision.from_retry_after) << bad;
        EXPECT_EQ(decision.delay, milliseconds(500)) << bad;
    }
}

TEST(RetryPolicyTest, RetryAfterDateIsMeasuredFromNow) {
    const RetryDecision decision =
        decide_retry(RetryPolicy{}, 1, status(503, "Sun, 01 Mar 2026 12:00:30 GMT"), 0.5, at_noon());
    EXPECT_TRUE(decision.retry);
    EXPECT_TRUE(decision.from_retry_after);
    EXPECT_EQ(decision.delay, seconds(30));
}

TEST(RetryPolicyTest, RetryAfterDateInThePastMeansNow) {
    const RetryDecision decision =
        decide_retry(RetryPolicy{}, 1, status(503, "Sun, 06 Nov 1994 08:49:37 GMT"), 0.5, at_noon());
    EXPECT_TRUE(decision.retry);
    EXPECT_TRUE(decision.from_retry_after);
    EXPECT_EQ(decision.delay, milliseconds(0));
}

TEST(RetryPolicyTest, RetryAfterDateFarAheadIsCapped) {
    const RetryDecision decision =
        decide_retry(RetryPolicy{}, 1, status(429, "Tue, 15 Jan 2030 00:00:00 GMT"), 0.5, at_noon());
    EXPECT_EQ(decision.delay, std::chrono::minutes(5));
}

// --- Retry-After parsing ---

TEST(RetryPolicyTest, ParsesDelaySeconds) {
    EXPECT_EQ(parse_retry_after("0", at_noon()), milliseconds(0));
    EXPECT_EQ(parse_retry_after("1", at_noon()), seconds(1));
    EXPECT_EQ(parse_retry_after("120", at_noon()), seconds(120));
    EXPECT_EQ(parse_retry_after("007", at_noon()), seconds(7));
    EXPECT_EQ(parse_retry_after("  42\t", at_noon()), seconds(42));
}

TEST(RetryPolicyTest, HugeDelaySecondsSaturate) {
    const auto huge = parse_retry_after("123456789012345678901234567890", at_noon());
    ASSERT_TRUE(huge.has_value());
    EXPECT_EQ(*huge, seconds(1'000'000'000));
}

TEST(RetryPolicyTest, RejectsWhatIsNeitherForm) {
    for (std::string_view bad : {"", "   ", "-1", "1.0", "1e3", "12 s", "twelve", "Sun, 01 Mar 2026", "1 2"}) {
        EXPECT_FALSE(parse_retry_after(bad, at_noon()).has_value()) << "'" << bad << "'";
    }
}

TEST(RetryPolicyTest, DateDelaysRoundUpToWholeMilliseconds) {
    // "now" 400 microseconds past noon; the date is one second after noon.
    const Timestamp now = at_noon() + std::chrono::microseconds(400);
    EXPECT_EQ(parse_retry_after("Sun, 01 Mar 2026 12:00:01 GMT", now), milliseconds(1000));
    EXPECT_EQ(parse_retry_after("Sun, 01 Mar 2026 12:00:00 GMT", now), milliseconds(0));
}

// --- HTTP-date parsing ---

TEST(RetryPolicyTest, ParsesAllThreeHttpDateForms) {
    const Timestamp expected = Timestamp{std::chrono::seconds(784111777)};  // 1994-11-06T08:49:37Z
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", at_noon()), expected);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", at_noon()), expected);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", at_noon()), expected);
    EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994", at_noon()), expected + std::chrono::days(10));
}

TEST(RetryPolicyTest, ParsesEveryMonthAndDayName) {
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", at_noon()), Timestamp{});
    const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned m = 1; m <= 12; ++m) {
        const std::string text = std::string("Mon, 15 ") + months[m - 1] + " 2025 10:20:30 GMT";
        EXPECT_EQ(parse_http_date(text, at_noon()), utc(2025, m, 15, 10, 20, 30)) << text;
    }
    // Day names are checked for spelling only, not against the date.
    for (const char* day : {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}) {
        EXPECT_TRUE(parse_http_date(std::string(day) + ", 01 Mar 2026 12:00:00 GMT", at_noon()).has_value()) << day;
    }
    for (const char* day : {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}) {
        EXPECT_TRUE(parse_http_date(std::string(day) + ", 01-Mar-26 12:00:00 GMT", at_noon()).has_value()) << day;
    }
}

TEST(RetryPolicyTest, TwoDigitYearsStayWithinFiftyYearsOfNow) {
    // now is 2026: up to 2076 is ahead, from 2077 on it is the last century.
    EXPECT_EQ(parse_http_date("Friday, 20-May-77 00:00:00 GMT", at_noon()), utc(1977, 5, 20, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Wednesday, 20-May-76 00:00:00 GMT", at_noon()), utc(2076, 5, 20, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Tuesday, 15-Jan-30 00:00:00 GMT", at_noon()), utc(2030, 1, 15, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Thursday, 31-Dec-26 23:59:59 GMT", at_noon()), utc(2026, 12, 31, 23, 59, 59));
    // Near the end of a century, "01" is just ahead rather than 98 years back.
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-01 00:00:00 GMT", utc(2099, 6, 1, 0, 0, 0)), utc(2101, 1, 1, 0, 0, 0));
}

TEST(RetryPolicyTest, AcceptsALeapSecond) {
    EXPECT_EQ(parse_http_date("Wed, 31 Dec 2025 23:59:60 GMT", at_noon()), utc(2026, 1, 1, 0, 0, 0));
}

TEST(RetryPolicyTest, RejectsMalformedDates) {
    for (std::string_view bad : {
             "",
             "Sun, 06 Nov 1994 08:49:37",      // no zone
             "Sun, 06 Nov 1994 08:49:37 UTC",  // only GMT is allowed
             "Sun, 06 Nov 1994 08:49:37 gmt",  // case-sensitive
             "sun, 06 Nov 1994 08:49:37 GMT",
             "Sun, 06 nov 1994 08:49:37 GMT",
             "Sun, 6 Nov 1994 08:49:37 GMT",  // day needs two digits
             "Sun, 06 Nov 94 08:49:37 GMT",   // IMF needs four
             "Sun,06 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 1994 08:49:37 GMT ",  // trailing junk (parse_retry_after trims, this does not)
             "Sun, 06 Nov 1994 8:49:37 GMT",
             "Sun, 06 Nov 1994 24:00:00 GMT",  // hour out of range
             "Sun, 06 Nov 1994 08:60:00 GMT",
             "Sun, 06 Nov 1994 08:49:61 GMT",
             "Sun, 31 Feb 1994 08:49:37 GMT",  // no such day
             "Sun, 29 Feb 2025 08:49:37 GMT",  // not a leap year
             "Sun, 00 Nov 1994 08:49:37 GMT",
             "Fun, 06 Nov 1994 08:49:37 GMT",
             "Sun, 06 Foo 1994 08:49:37 GMT",
             "Sun, 06-Nov-94 08:49:37 GMT",  // RFC 850 needs the long day name
             "Sunday, 06-Nov-1994 08:49:37 GMT",
             "Sunday, 06 Nov 94 08:49:37 GMT",
             "Sun Nov 6 08:49:37 1994",  // asctime pads the day with a space
             "Sun Nov  6 08:49:37 94",
             "Sun Nov  6 08:49:37 1994 GMT",
             "2026-03-01T12:00:00Z",
         }) {
        EXPECT_FALSE(parse_http_date(bad, at_noon()).has_value()) << "'" << bad << "'";
    }
    EXPECT_TRUE(parse_http_date("Sat, 29 Feb 2020 08:49:37 GMT", at_noon()).has_value());
}

}  // namespace
}  // namespace tokend
