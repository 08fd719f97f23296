// When to try an outgoing HTTP request again, and after how long: exponential
// backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"), overridden by the server's Retry-After (RFC 9110 section 10.2.3).
//
// PURE: no I/O, no clock, no randomness of its own. The caller passes the
// current time and a random fraction, so every decision is reproducible in a
// test.
#pragma once

#include "core/iso_time.h"

#include <chrono>
#include <optional>
#include <string_view>

namespace tokend {

struct RetryPolicy {
    // Ceiling of the first backoff window; it doubles per attempt up to `cap`.
    std::chrono::milliseconds base{500};
    std::chrono::milliseconds cap{30000};
    // Attempts in all, the first one included: 5 means at most 4 retries.
    int max_attempts = 5;
    // A server's Retry-After longer than this is shortened to it, so one odd
    // answer cannot park a request for a day.
    std::chrono::milliseconds retry_after_cap{std::chrono::minutes(5)};
};

// What one attempt ended with, as the HTTP client reported it.
struct AttemptOutcome {
    int status = 0;                // HTTP status; 0 when there was no HTTP answer
    std::string_view retry_after;  // raw Retry-After header value; empty when absent
    bool transport_error = false;  // no usable answer: refused, reset, TLS, garbage, timeout...
    bool timed_out = false;        // the attempt ran out of time (also a transport error)
    bool cancelled = false;        // the client was closed under it: never retried
    bool answer_asks_retry = false;  // a 2xx whose body says "not now" (Slack's ok:false ratelimited)
};

struct RetryDecision {
    bool retry = false;
    std::chrono::milliseconds delay{0};  // wait this long before the next attempt (when retry)
    bool from_retry_after = false;       // the delay is the server's Retry-After (capped)
};

// Whether an outcome is worth another attempt at all, ignoring attempt counts:
// transport errors and timeouts (status 0 counts as one), 429, 5xx except
// 501 (Not Implemented will not change), and an answer that asks for it. Never other 4xx, never 1xx/2xx/3xx,
// never a cancelled attempt.
bool is_retryable(const AttemptOutcome& outcome);

// The full-jitter backoff before the next attempt after `attempts_made`
// attempts (>= 1): uniform in [0, min(cap, base * 2^(attempts_made-1))], picked
// by `random_fraction` in [0, 1] (values outside are clamped, NaN counts as 0).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempts_made, double random_fraction);

// Decides after `attempts_made` attempts (>= 1; the one that just ended
// included) whether to try again and after how long. A valid Retry-After wins
// over the backoff (capped at policy.retry_after_cap; a date in the past means
// now); an invalid one is ignored. No retry once max_attempts is reached.
RetryDecision decide_retry(const RetryPolicy& policy, int attempts_made, const AttemptOutcome& outcome,
                           double random_fraction, Timestamp now);

// Retry-After as a delay from `now`: delay-seconds ("120") or an HTTP-date in
// any of the three forms RFC 9110 section 5.6.7 requires recipients to accept.
// Surrounding spaces and tabs are allowed. A date at or before `now` gives 0;
// huge values saturate. nullopt when the value is neither form.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, Timestamp now);

// An HTTP-date: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", obsolete RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years more than 50 years ahead of
// `now` are taken as the previous century, RFC 9110's rule), or asctime
// "Sun Nov  6 08:49:37 1994". The day name must be a real one but is not
// checked against the date. nullopt on anything else or an impossible date.
std::optional<Timestamp> parse_http_date(std::string_view text, Timestamp now);

}  // namespace tokend
