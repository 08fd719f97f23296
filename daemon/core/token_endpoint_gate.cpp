#include "core/token_endpoint_gate.h"

#include <algorithm>
#include <cmath>

namespace tokend {

TokenEndpointGate::TokenEndpointGate(TokenEndpointLimits limits, Timestamp now)
    : limits_(limits), tokens_(std::max(limits.burst, 1.0)), refilled_at_(now) {
    limits_.max_concurrent = std::max<size_t>(limits_.max_concurrent, 1);
    limits_.burst = std::max(limits_.burst, 1.0);
}

void TokenEndpointGate::refill(Timestamp now) {
    if (now <= refilled_at_) return;  // a clock stepping back adds nothing
    const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
    tokens_ = std::min(limits_.burst, tokens_ + elapsed * limits_.rate_per_second);
    refilled_at_ = now;
}

bool TokenEndpointGate::try_start(Timestamp now) {
    refill(now);
    const bool rate_limited = limits_.rate_per_second > 0.0;
    if (in_flight_ >= limits_.max_concurrent || (rate_limited && tokens_ < 1.0)) return false;
    if (rate_limited) tokens_ -= 1.0;
    ++in_flight_;
    return true;
}

void TokenEndpointGate::finish() {
    if (in_flight_ > 0) --in_flight_;
}

std::optional<Timestamp> TokenEndpointGate::rate_ready_at(Timestamp now) {
    refill(now);
    if (tokens_ >= 1.0 || limits_.rate_per_second <= 0.0) return std::nullopt;
    const double wait_seconds = (1.0 - tokens_) / limits_.rate_per_second;
    return now + std::chrono::microseconds{static_cast<long long>(std::ceil(wait_seconds * 1e6))};
}

}  // namespace tokend
