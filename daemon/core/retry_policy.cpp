#include "core/retry_policy.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace tokend {
namespace {

using std::chrono::milliseconds;

// Retry-After delay-seconds beyond this saturate (about 31 years); keeps the
// millisecond count far from overflow.
constexpr std::int64_t kMaxRetryAfterSeconds = 1'000'000'000;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kShortDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// A cursor over the date text; every step fails (returns false) without
// consuming on a mismatch, and the caller gives up on the first failure.
class Cursor {
public:
    explicit Cursor(std::string_view text) : text_(text) {}

    bool literal(std::string_view expected) {
        if (text_.substr(0, expected.size()) != expected) return false;
        text_.remove_prefix(expected.size());
        return true;
    }
    // Exactly `count` digits.
    bool digits(size_t count, int& value) {
        if (text_.size() < count) return false;
        int result = 0;
        for (size_t i = 0; i < count; ++i) {
            if (!is_digit(text_[i])) return false;
            result = result * 10 + (text_[i] - '0');
        }
        value = result;
        text_.remove_prefix(count);
        return true;
    }
    // One of `names`, exactly as written (HTTP-date is case-sensitive); its index.
    template <size_t N>
    bool one_of(const std::array<std::string_view, N>& names, int& index) {
        for (size_t i = 0; i < N; ++i) {
            if (literal(names[i])) {
                index = static_cast<int>(i);
                return true;
            }
        }
        return false;
    }
    bool at_end() const { return text_.empty(); }

private:
    std::string_view text_;
};

struct Fields {
    int year = 0;
    int month = 0;  // 1..12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

bool time_of_day(Cursor& in, Fields& f) {
    return in.digits(2, f.hour) && in.literal(":") && in.digits(2, f.minute) && in.literal(":") &&
           in.digits(2, f.second);
}

bool month_name(Cursor& in, Fields& f) {
    int index = 0;
    if (!in.one_of(kMonths, index)) return false;
    f.month = index + 1;
    return true;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool imf_fixdate(std::string_view text, Fields& f) {
    Cursor in(text);
    int day_name = 0;
    return in.one_of(kShortDays, day_name) && in.literal(", ") && in.digits(2, f.day) && in.literal(" ") &&
           month_name(in, f) && in.literal(" ") && in.digits(4, f.year) && in.literal(" ") && time_of_day(in, f) &&
           in.literal(" GMT") && in.at_end();
}

// "Sunday, 06-Nov-94 08:49:37 GMT"; f.year is the two-digit year.
bool rfc850_date(std::string_view text, Fields& f) {
    Cursor in(text);
    int day_name = 0;
    return in.one_of(kLongDays, day_name) && in.literal(", ") && in.digits(2, f.day) && in.literal("-") &&
           month_name(in, f) && in.literal("-") && in.digits(2, f.year) && in.literal(" ") && time_of_day(in, f) &&
           in.literal(" GMT") && in.at_end();
}

// "Sun Nov  6 08:49:37 1994" (day as two digits or space and one digit)
bool asctime_date(std::string_view text, Fields& f) {
    Cursor in(text);
    int day_name = 0;
    if (!(in.one_of(kShortDays, day_name) && in.literal(" ") && month_name(in, f) && in.literal(" "))) return false;
    if (!(in.literal(" ") ? in.digits(1, f.day) : in.digits(2, f.day))) return false;
    return in.literal(" ") && time_of_day(in, f) && in.literal(" ") && in.digits(4, f.year) && in.at_end();
}

// The year ending in `two_digits` within [now_year - 49, now_year + 50].
int widen_two_digit_year(int two_digits, Timestamp now) {
    const int now_year =
        static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)}.year());
    int year = now_year - now_year % 100 + two_digits;
    if (year > now_year + 50) year -= 100;
    if (year < now_year - 49) year += 100;
    return year;
}

std::optional<Timestamp> to_timestamp(const Fields& f) {
    using namespace std::chrono;
    const year_month_day date{year{f.year}, month{static_cast<unsigned>(f.month)}, day{static_cast<unsigned>(f.day)}};
    // A leap second (60) is allowed by the grammar; it simply rolls over.
    if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
    return Timestamp{sys_days{date} + hours{f.hour} + minutes{f.minute} + seconds{f.second}};
}

}  // namespace

bool is_retryable(const AttemptOutcome& outcome) {
    if (outcome.cancelled) return false;
    if (outcome.answer_asks_retry) return true;
    if (outcome.transport_error || outcome.timed_out || outcome.status == 0) return true;
    if (outcome.status == 429) return true;
    return outcome.status >= 500 && outcome.status <= 599 && outcome.status != 501;
}

milliseconds backoff_delay(const RetryPolicy& policy, int attempts_made, double random_fraction) {
    const milliseconds cap = std::max(policy.cap, milliseconds{0});
    milliseconds ceiling = std::clamp(policy.base, milliseconds{0}, cap);
    // Double per attempt until the cap; stops early, so no overflow for any count.
    for (int attempt = 1; attempt < attempts_made && ceiling < cap; ++attempt) {
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    }
    if (!(random_fraction >= 0.0)) random_fraction = 0.0;  // also NaN
    if (random_fraction > 1.0) random_fraction = 1.0;
    const double window = static_cast<double>(ceiling.count());
    const double delay = random_fraction * window;
    // Also keeps llround in range when the ceiling is near the type's maximum.
    if (delay >= window) return ceiling;
    return std::clamp(milliseconds{std::llround(delay)}, milliseconds{0}, ceiling);
}

RetryDecision decide_retry(const RetryPolicy& policy, int attempts_made, const AttemptOutcome& outcome,
                           double random_fraction, Timestamp now) {
    attempts_made = std::max(attempts_made, 1);
    if (!is_retryable(outcome) || attempts_made >= policy.max_attempts) return {};
    RetryDecision decision;
    decision.retry = true;
    if (!outcome.retry_after.empty()) {
        if (auto server_delay = parse_retry_after(outcome.retry_after, now)) {
            decision.delay = std::min(*server_delay, std::max(policy.retry_after_cap, milliseconds{0}));
            decision.from_retry_after = true;
            return decision;
        }
    }
    decision.delay = backoff_delay(policy, attempts_made, random_fraction);
    return decision;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, Timestamp now) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), is_digit)) {
        std::int64_t seconds = 0;
        for (char c : value) {
            seconds = seconds * 10 + (c - '0');
            if (seconds > kMaxRetryAfterSeconds) {
                seconds = kMaxRetryAfterSeconds;
                break;
            }
        }
        return milliseconds{seconds * 1000};
    }
    const auto when = parse_http_date(value, now);
    if (!when) return std::nullopt;
    if (*when <= now) return milliseconds{0};
    // Round up: retrying a little late is fine, a little early is not.
    return std::chrono::ceil<milliseconds>(*when - now);
}

std::optional<Timestamp> parse_http_date(std::string_view text, Timestamp now) {
    if (Fields fields; imf_fixdate(text, fields)) return to_timestamp(fields);
    if (Fields fields; asctime_date(text, fields)) return to_timestamp(fields);
    if (Fields fields; rfc850_date(text, fields)) {
        fields.year = widen_two_digit_year(fields.year, now);
        return to_timestamp(fields);
    }
    return std::nullopt;
}

}  // namespace tokend
