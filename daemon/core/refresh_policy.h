// When a user's tokens should be refreshed, decided from the tokens alone.
//
// PURE: the caller passes the time and a per-user random fraction, so a test
// can jump days ahead and every deadline is reproducible.
#pragma once

#include "core/iso_time.h"
#include "core/tokens.h"

#include <chrono>
#include <optional>

namespace tokend {

struct RefreshPolicy {
    // Refresh when less than max(margin, fraction * lifetime) of the access
    // token is left, plus a per-user jitter of up to `jitter * lifetime` earlier
    // so that tokens issued together do not all come due together. Never in the
    // first half of a token's life, whatever the settings, so a short-lived
    // token cannot cause a refresh storm.
    std::chrono::seconds margin{std::chrono::minutes(10)};
    double fraction = 0.25;
    double jitter = 0.10;
    // A read (get_token) waits for a refresh when less than this is left; the
    // original's 120 s. The scheduler normally refreshes long before.
    std::chrono::seconds read_margin{120};
    // Keep the grant alive: refresh this long before the refresh token expires,
    // and at the latest this long after the last refresh.
    std::chrono::seconds refresh_token_margin{std::chrono::hours(24 * 7)};
    std::chrono::seconds keepalive{std::chrono::hours(24 * 30)};
    // Failed refreshes are tried again after full-jitter exponential backoff
    // between these bounds (Retry-After wins, up to retry_cap).
    std::chrono::milliseconds retry_base{1000};
    std::chrono::milliseconds retry_cap{std::chrono::minutes(10)};
};

// What these rules read of a user's tokens: the cache hands it out without
// unpacking a context (core/compact_context), tests and the rest use Tokens.
struct TokenTimes {
    bool access_token = false;   // present and not empty
    bool refresh_token = false;  // present and not empty
    std::optional<Timestamp> expires_at;
    std::optional<Timestamp> refresh_token_expires_at;
};
TokenTimes token_times(const Tokens& tokens);

// The time the tokens should be refreshed. `obtained_at` is when tokend got (or
// first loaded) them: the token's lifetime is taken as expires_at - obtained_at,
// since the stored data does not say when it was issued. `jitter_fraction` in
// [0, 1) is the user's fixed random draw. nullopt: nothing to refresh with (no
// refresh token), so nothing is scheduled.
std::optional<Timestamp> refresh_deadline(const TokenTimes& tokens, Timestamp obtained_at, const RefreshPolicy& policy,
                                          double jitter_fraction);
std::optional<Timestamp> refresh_deadline(const Tokens& tokens, Timestamp obtained_at, const RefreshPolicy& policy,
                                          double jitter_fraction);

// Whether the access token can be handed out at `now` without refreshing
// first: present, and more than read_margin left (tokens without an expiry
// count as usable).
bool usable_without_refresh(const TokenTimes& tokens, Timestamp now, const RefreshPolicy& policy);
bool usable_without_refresh(const Tokens& tokens, Timestamp now, const RefreshPolicy& policy);

// Whether the access token has any life left at all (the most a failing
// refresh may still hand out).
bool still_valid(const TokenTimes& tokens, Timestamp now);
bool still_valid(const Tokens& tokens, Timestamp now);

// Whether the tokens can be refreshed at all.
bool has_refresh_token(const Tokens& tokens);

// The wait before the next refresh attempt after `failures` (>= 1) failed ones
// in a row. A valid server Retry-After (already a delay) wins, capped at
// retry_cap.
std::chrono::milliseconds refresh_retry_delay(const RefreshPolicy& policy, int failures,
                                              std::optional<std::chrono::milliseconds> retry_after,
                                              double random_fraction);

}  // namespace tokend
