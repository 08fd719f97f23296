// The OAuth tokens of one user, in the shape the original stored them
// (wxc_sdk Tokens), and the pure rules about their lifetime.
#pragma once

#include "core/iso_time.h"
#include "core/result.h"
#include "core/secret.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tokend {

using Json = nlohmann::ordered_json;  // keeps key order, so stored data round-trips as written

struct Tokens {
    std::optional<Secret> access_token;
    std::optional<Timestamp> expires_at;
    std::optional<Secret> refresh_token;
    std::optional<Timestamp> refresh_token_expires_at;
    std::optional<std::string> token_type;  // "Bearer"
    std::optional<std::string> scope;       // space-separated
    // Fields tokend does not know, written back unchanged (never dropped).
    Json extra;  // null until a field tokend does not know arrives (saves an allocation per user)

    // Seconds of access-token life left at `now`, truncated toward zero as the
    // original's int(total_seconds()) did, so negative once expired; 0 when there
    // is no access token or no expiry.
    std::chrono::seconds remaining(Timestamp now) const;

    bool operator==(const Tokens& other) const = default;
};

// Stored JSON <-> Tokens. Every field may be null or missing; a field of the wrong
// type (e.g. a number for access_token, an unparseable expires_at) is an error.
Result<Tokens> tokens_from_json(const Json& json);
Json to_json(const Tokens& tokens);

// A token endpoint answer (RFC 6749 5.1: access_token, expires_in, refresh_token,
// refresh_token_expires_in, token_type, scope) received at `now`: the *_in
// lifetimes become absolute *_expires_at times. Requires access_token; rejects
// negative or non-integer lifetimes.
Result<Tokens> tokens_from_token_response(const Json& json, Timestamp now);

// The tokens after a refresh answer: the fresh answer wins, but a refresh token
// (and its expiry) that the provider left out is kept from `current` instead of
// being overwritten with null, as the original did.
Tokens merge_refreshed(const Tokens& current, const Tokens& fresh);

// The "error" of a token endpoint answer (RFC 6749 5.2) when it looks like an
// OAuth error code (1 to 64 of a-z and '_'), else "". Only such a code is ever
// repeated to a log line or a caller: the body is the provider's free text.
std::string oauth_error_of(std::string_view body);

}  // namespace tokend
