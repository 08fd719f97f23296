// OpenID Connect id_tokens checked (OpenID Connect Core 1.0, 3.1.3.7): the
// JWS compact form (RFC 7515), signed RS256 or ES256 (RFC 7518 3.3, 3.4) with
// a key of the provider's JWKS (RFC 7517) chosen by `kid`; iss, aud, azp, exp,
// iat and nonce checked. The signature check is OpenSSL's EVP; no other alg is
// accepted (never `none`, never HS256: that would make the client secret a
// signing key, which tokend has no reason to accept). Pure: the JWKS text comes
// from the edge (app/oidc_keys), the time is passed in.
#pragma once

#include "core/iso_time.h"
#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;  // as <openssl/types.h> declares it

namespace tokend {

// Limits on outside text: Google's JWKS is ~1.5 KiB and its id_tokens ~1 KiB.
inline constexpr std::size_t kMaxIdTokenBytes = 16 * 1024;
inline constexpr std::size_t kMaxJwksBytes = 64 * 1024;
inline constexpr std::size_t kMaxJwksKeys = 32;

// How far the provider's clock may be ahead of ours (iat) or our clock ahead
// of its (exp): two minutes, as libraries commonly allow; more would stretch
// the life of a stolen id_token, less would fail logins on hosts a little off.
inline constexpr std::chrono::seconds kIdTokenClockSkew{120};

// One verification key of a JWKS: RSA (n, e; at least 2048 bits) or EC P-256
// (x, y). Keys with "use" other than "sig", or of another kind, are skipped.
struct JsonWebKey {
    std::string kid;  // may be empty
    std::string alg;  // RS256 or ES256: what the key's kind allows
    std::shared_ptr<EVP_PKEY> key;
};

struct JsonWebKeySet {
    std::vector<JsonWebKey> keys;
    // The key for a token's header (alg, kid): the one with that kid, or when
    // the token names none, the only key of that alg. nullptr: none fits.
    const JsonWebKey* find(std::string_view alg, std::string_view kid) const;
};

// A JWKS document ({"keys": [...]}); an error when it is malformed, over the
// limits or holds no usable key. Unusable keys (other kty, enc keys, other
// curves, short RSA) are skipped, not an error: providers publish several.
Result<JsonWebKeySet> parse_jwks(std::string_view text);

// What the id_token must say.
struct IdTokenExpectations {
    std::string issuer;     // iss, exactly
    std::string client_id;  // in aud (a string, or an array holding it); azp, when present, equals it
    std::string nonce;      // the flow's nonce, exactly
    Timestamp now;
    std::chrono::seconds skew = kIdTokenClockSkew;
};

struct IdTokenClaims {
    std::string subject;  // sub: the user id
    std::string email;    // "" if absent
    std::string name;     // "" if absent
};

// The header's alg and kid, read without checking anything else: the edge
// uses the kid to see whether it must fetch the JWKS again (a rotated key).
struct IdTokenHeader {
    std::string alg;
    std::string kid;
};
Result<IdTokenHeader> read_id_token_header(std::string_view token);

// The claims when every check passes; else why not (for the log: never the
// token or a claim's value, which may be personal).
Result<IdTokenClaims> verify_id_token(std::string_view token, const JsonWebKeySet& keys,
                                      const IdTokenExpectations& expect);

// The nonce sent in the authorization request of a flow and expected in its
// id_token: BASE64URL(SHA-256("tokend-oidc-nonce\0" + flow_id)). The flow id is
// the flow's secret (192 random bits, known only to tokend, the browser and the
// provider), so the nonce is as unpredictable as the flow id, needs no field in
// the stored flow (no store change), and is bound to exactly one flow: an
// id_token minted for another flow (a replayed or injected one) carries another
// nonce. The label keeps it from equalling any other hash of the flow id.
std::string oidc_nonce(std::string_view flow_id);

}  // namespace tokend
