// The secret fields of a stored record, sealed and opened in place with a key
// ring (core/token_cipher): a user context's tokens.access_token and
// tokens.refresh_token, a pending flow's code_verifier. Everything else in the
// record stays as it is, so the stored JSON keeps the original's shape.
//
// PURE: the nonces come from the caller.
#pragma once

#include "core/token_cipher.h"
#include "core/tokens.h"

#include <functional>
#include <string>
#include <string_view>

namespace tokend {

enum class RecordKind { user_context, flow };

// 12 fresh random bytes per call.
using NonceSource = std::function<std::string()>;

// Opens every sealed secret field of record (owner: the store key) in place.
// On failure returns false, fills *failure and leaves the record as it came.
bool open_record(Json* record, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                 OpenFailure* failure);

// Writes every secret field as the ring wants it: sealed with the active key
// (a fresh nonce each), or in plain text when the ring has no active key.
// Fields must be plain (opened) when this is called.
void seal_record(Json* record, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                 const NonceSource& nonce);

// Whether every secret field of a stored record is already as the ring writes
// it (sealed under the active key, or plain when there is none): what a
// rotation skips.
bool record_is_current(const Json& record, RecordKind kind, const TokenKeyRing& ring);

// The key ids the record's sealed fields name (for reports).
std::string record_key_ids(const Json& record, RecordKind kind);

// False when stored text holds no sealed value (no string starting "enc:",
// and no escape, which could spell one), so it can be read as plain text
// without a tree; true may be a false alarm.
bool may_hold_sealed_value(std::string_view text);

// Stored text to text with the secrets opened. Text holding no sealed value
// comes back unchanged (not even parsed again). Errors as open_record;
// text that is not a JSON object comes back unchanged for the caller's own
// parser to reject.
Result<std::string> open_record_text(std::string_view text, RecordKind kind, std::string_view owner,
                                     const TokenKeyRing& ring, OpenFailure* failure);
// Text with secrets in plain to stored text (unchanged when the ring writes
// plain text).
std::string seal_record_text(std::string_view text, RecordKind kind, std::string_view owner,
                             const TokenKeyRing& ring, const NonceSource& nonce);

// One stored record, as a rotation sees it (every sealed value is opened, the
// current ones too): already as the ring writes it, unreadable (not JSON, or a value that does not open: left as it is), or to be
// rewritten with `text`.
struct Reseal {
    enum class Kind { current, unreadable, rewrite } kind = Kind::current;
    std::string text;     // rewrite: the new stored text
    OpenFailure failure;  // unreadable: why (field and key id when it got that far)
};
Reseal reseal_record(std::string_view stored, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                     const NonceSource& nonce);

}  // namespace tokend
