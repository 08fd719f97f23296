// PKCE (RFC 7636) and the random identifiers of a flow, from random bytes the
// caller draws from a CSPRNG (the core itself draws nothing).
#pragma once

#include "core/byte_encoding.h"  // base64url_encode, for the callers of these

#include <string>
#include <string_view>

namespace tokend {

// Bytes of randomness each identifier needs.
constexpr size_t kFlowIdBytes = 24;       // 192 bits; the id is also the OAuth state
constexpr size_t kCodeVerifierBytes = 32; // 43 characters, RFC 7636's minimum length

// The flow id (OAuth state) made from kFlowIdBytes random bytes: 32 URL-safe characters.
std::string make_flow_id(std::string_view random_bytes);

// A code_verifier from kCodeVerifierBytes random bytes: 43 URL-safe characters.
std::string make_code_verifier(std::string_view random_bytes);

// code_challenge for method S256: BASE64URL(SHA256(verifier)).
std::string s256_challenge(std::string_view code_verifier);

}  // namespace tokend
