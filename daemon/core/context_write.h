// set_user_context, decided: what to store given what is stored, what a caller
// wrote and the flags it gave. Pure; the token service reads the stored
// context, asks this, and writes the answer. docs/protocol.md states the rules.
//
// 1. A written tokens.refresh_token that is null or absent keeps the stored
//    refresh token and its expiry (a context read without its refresh token,
//    withheld from callers outside control.refresh_token_readers, can be
//    written back without losing the grant).
// 2. clear_refresh_token drops the refresh token (and its expiry) explicitly.
// 3. Newer grant wins: when the stored context has an access token, the written
//    access token differs from it and the written expires_at is earlier (or
//    absent while the stored one is set), the write is a stale copy: the stored
//    tokens are kept whole; every other top-level field of the write applies.
//    force skips this rule (a deliberate rollback, an import).
#pragma once

#include "core/user_context.h"

#include <optional>
#include <string>
#include <string_view>

namespace tokend {

struct ContextWriteFlags {
    bool clear_refresh_token = false;
    bool force = false;
    // Not a rule: the write is decided as usual and answered, but nothing is
    // stored (set_user_context's dry_run, tokenctl import --dry-run).
    bool dry_run = false;
};

enum class TokensWritten { written, kept_newer };
enum class RefreshTokenWritten { written, kept, cleared, none };
// What the write does to the stored context as a whole: there was none, it
// stays exactly as it is (the write brings nothing new), or it changes.
enum class ContextChange { created, unchanged, changed };
std::string_view to_string(TokensWritten value);
std::string_view to_string(RefreshTokenWritten value);
std::string_view to_string(ContextChange value);

struct ContextWrite {
    UserContext context;  // what to store
    TokensWritten tokens = TokensWritten::written;
    RefreshTokenWritten refresh_token = RefreshTokenWritten::none;
    ContextChange change = ContextChange::created;
};

// Why the request contradicts itself (a refresh token written and cleared at
// once), or empty when it does not.
std::string check_context_write(const UserContext& written, const ContextWriteFlags& flags);

// stored: the context in the store now (nullopt: none, or unreadable).
ContextWrite decide_context_write(const std::optional<UserContext>& stored, const UserContext& written,
                                  const ContextWriteFlags& flags);

// Whether `written` is a stale copy of `stored` by rule 3 (ignoring force).
bool is_stale_tokens(const Tokens& stored, const Tokens& written);

}  // namespace tokend
