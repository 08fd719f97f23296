// Protects the provider's token endpoint from tokend itself: at most
// `max_concurrent` token requests at once and at most `rate_per_second` started
// per second on average (a token bucket holding up to `burst`). Start-up with a
// thousand overdue tokens, or a provider coming back after an outage, then
// refreshes at a steady pace instead of all at once.
//
// PURE: the caller passes the time.
#pragma once

#include "core/iso_time.h"

#include <cstddef>
#include <optional>

namespace tokend {

struct TokenEndpointLimits {
    size_t max_concurrent = 4;
    double rate_per_second = 10.0;  // 0: no rate limit
    double burst = 10.0;
};

class TokenEndpointGate {
public:
    TokenEndpointGate(TokenEndpointLimits limits, Timestamp now);

    // Starts a request if both limits allow it at `now` (it then counts as in
    // flight and used one token of the bucket).
    bool try_start(Timestamp now);
    // A started request ended (whatever its outcome).
    void finish();

    // The earliest time try_start can succeed as far as the rate goes; nullopt
    // when only the concurrency limit (or nothing) is in the way: a finish()
    // is what to wait for then.
    std::optional<Timestamp> rate_ready_at(Timestamp now);

    size_t in_flight() const { return in_flight_; }
    const TokenEndpointLimits& limits() const { return limits_; }

private:
    void refill(Timestamp now);

    TokenEndpointLimits limits_;
    double tokens_;
    Timestamp refilled_at_;
    size_t in_flight_ = 0;
};

}  // namespace tokend
