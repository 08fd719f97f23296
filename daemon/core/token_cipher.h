// Encryption at rest of one stored secret (an access token, a refresh token, a
// PKCE verifier): AES-256-GCM through OpenSSL's EVP interface, and the text
// form the value takes in the stored JSON:
//
//   enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>
//
// nonce: 12 bytes, fresh per value (the caller passes it in); tag: 16 bytes;
// base64url without padding (RFC 4648 section 5). The additional authenticated
// data binds the ciphertext to the format version, its key id, its owner (the
// store key: the user id for a context, the flow id for a flow) and its field
// name, each length-prefixed (4 bytes, big-endian):
//
//   "tokend-enc-v1" || len(key id) || key id || len(owner) || owner || len(field) || field
//
// so a value copied to another user or field, or relabelled with another key
// id, fails to open. docs/encryption.md publishes test vectors.
//
// PURE: no I/O, no clock, no randomness of its own; keys and nonces come in.
#pragma once

#include "core/result.h"
#include "core/secret.h"

#include <map>
#include <string>
#include <string_view>

namespace tokend {

constexpr size_t kTokenKeyBytes = 32;
constexpr size_t kTokenNonceBytes = 12;
constexpr size_t kTokenTagBytes = 16;
constexpr size_t kMaxKeyIdLength = 32;

// "enc:": every value that starts so is taken as sealed (a token never does).
bool is_sealed_value(std::string_view value);

// Key ids: 1 to 32 of A-Z a-z 0-9 '_' '-' '.'. Empty string when valid, else why not.
std::string check_key_id(std::string_view key_id);

// A sealed value's parts.
struct SealedValue {
    std::string key_id;
    std::string payload;  // nonce || ciphertext || tag, raw bytes
};

// Parses the text form. Errors name what is wrong, never the bytes: another
// version than v1, a malformed key id, bad base64url, a payload shorter than
// nonce + tag.
Result<SealedValue> parse_sealed_value(std::string_view text);
std::string format_sealed_value(const SealedValue& value);

// The AAD above.
std::string sealed_value_aad(std::string_view key_id, std::string_view owner, std::string_view field);

// Encrypts plaintext with key (32 bytes) and nonce (12 bytes) for owner and
// field; returns the text form. Throws std::invalid_argument on a key, nonce
// or key id of the wrong shape (a programming error, not an input error).
std::string seal_value(std::string_view plaintext, std::string_view key, std::string_view key_id,
                       std::string_view nonce, std::string_view owner, std::string_view field);

// Decrypts a parsed value with key for owner and field. Fails (never with any
// of the bytes) when the tag does not verify: wrong key, other owner or field,
// tampered or truncated data.
Result<std::string> open_sealed_value(const SealedValue& value, std::string_view key, std::string_view owner,
                                      std::string_view field);

// Keys by id: one active for writes (empty: values are written in plain text,
// the downgrade), every one for reads.
struct TokenKeyRing {
    std::string active_id;
    std::map<std::string, Secret> keys;  // id -> 32 raw bytes

    bool seals() const { return !active_id.empty(); }
    const Secret* find(std::string_view key_id) const;
};

// Why one value could not be opened, for an operator: the field, the key id
// (empty when the text did not parse that far) and the reason.
struct OpenFailure {
    std::string field;
    std::string key_id;
    std::string reason;

    std::string describe() const;  // "access_token under key id k1: no such key in the key ring"
};

// Opens value if it is sealed, else returns it as it is.
Result<std::string> open_with_ring(const TokenKeyRing& ring, std::string_view value, std::string_view owner,
                                   std::string_view field, OpenFailure* failure);

// Decodes a key file's text: 64 hex digits or base64 (standard or url, padded
// or not) of exactly 32 bytes; surrounding whitespace allowed. The error never
// quotes the text.
Result<Secret> parse_key_text(std::string_view text);

}  // namespace tokend
