#include "core/refresh_policy.h"

#include "core/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace tokend {
namespace {

using std::chrono::microseconds;

double clamp_fraction(double value) {
    if (!(value >= 0.0)) return 0.0;  // also NaN
    return std::min(value, 1.0);
}

microseconds scaled(microseconds duration, double factor) {
    return microseconds{std::llround(static_cast<double>(duration.count()) * factor)};
}

}  // namespace

TokenTimes token_times(const Tokens& tokens) {
    return {tokens.access_token && !tokens.access_token->empty(), tokens.refresh_token && !tokens.refresh_token->empty(),
            tokens.expires_at, tokens.refresh_token_expires_at};
}

bool has_refresh_token(const Tokens& tokens) { return tokens.refresh_token && !tokens.refresh_token->empty(); }

std::optional<Timestamp> refresh_deadline(const TokenTimes& tokens, Timestamp obtained_at, const RefreshPolicy& policy,
                                          double jitter_fraction) {
    if (!tokens.refresh_token) return std::nullopt;
    // No access token: it is needed now.
    if (!tokens.access_token) return obtained_at;

    Timestamp deadline = obtained_at + policy.keepalive;
    if (tokens.expires_at) {
        const microseconds lifetime = std::max(*tokens.expires_at - obtained_at, microseconds{0});
        microseconds lead = std::max<microseconds>(policy.margin, scaled(lifetime, clamp_fraction(policy.fraction)));
        lead += scaled(lifetime, clamp_fraction(policy.jitter) * clamp_fraction(jitter_fraction));
        lead = std::min(lead, lifetime / 2);
        deadline = std::min(deadline, *tokens.expires_at - lead);
    }
    if (tokens.refresh_token_expires_at) {
        // Also never in the first half of the refresh token's own life.
        const microseconds lifetime = std::max(*tokens.refresh_token_expires_at - obtained_at, microseconds{0});
        const microseconds lead = std::min<microseconds>(policy.refresh_token_margin, lifetime / 2);
        deadline = std::min(deadline, *tokens.refresh_token_expires_at - lead);
    }
    return deadline;
}

std::optional<Timestamp> refresh_deadline(const Tokens& tokens, Timestamp obtained_at, const RefreshPolicy& policy,
                                          double jitter_fraction) {
    return refresh_deadline(token_times(tokens), obtained_at, policy, jitter_fraction);
}

bool usable_without_refresh(const TokenTimes& tokens, Timestamp now, const RefreshPolicy& policy) {
    if (!tokens.access_token) return false;
    if (!tokens.expires_at) return true;
    return *tokens.expires_at - now > policy.read_margin;
}

bool usable_without_refresh(const Tokens& tokens, Timestamp now, const RefreshPolicy& policy) {
    return usable_without_refresh(token_times(tokens), now, policy);
}

bool still_valid(const TokenTimes& tokens, Timestamp now) {
    if (!tokens.access_token) return false;
    return !tokens.expires_at || *tokens.expires_at > now;
}

bool still_valid(const Tokens& tokens, Timestamp now) { return still_valid(token_times(tokens), now); }

std::chrono::milliseconds refresh_retry_delay(const RefreshPolicy& policy, int failures,
                                              std::optional<std::chrono::milliseconds> retry_after,
                                              double random_fraction) {
    if (retry_after) return std::clamp(*retry_after, std::chrono::milliseconds{0}, policy.retry_cap);
    // "Equal jitter": half the window fixed, half random, so a retry never
    // comes at once yet a crowd of them still spreads out.
    RetryPolicy backoff;
    backoff.base = policy.retry_base;
    backoff.cap = policy.retry_cap;
    const std::chrono::milliseconds ceiling = backoff_delay(backoff, std::max(failures, 1), 1.0);
    const auto half = ceiling / 2;
    return half + std::chrono::milliseconds{std::llround(static_cast<double>(half.count()) * clamp_fraction(random_fraction))};
}

}  // namespace tokend
