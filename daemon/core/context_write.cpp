#include "core/context_write.h"

namespace tokend {

std::string_view to_string(TokensWritten value) {
    return value == TokensWritten::written ? "written" : "kept_newer";
}

std::string_view to_string(RefreshTokenWritten value) {
    switch (value) {
        case RefreshTokenWritten::written: return "written";
        case RefreshTokenWritten::kept: return "kept";
        case RefreshTokenWritten::cleared: return "cleared";
        case RefreshTokenWritten::none: return "none";
    }
    return "none";
}

std::string_view to_string(ContextChange value) {
    switch (value) {
        case ContextChange::created: return "created";
        case ContextChange::unchanged: return "unchanged";
        case ContextChange::changed: return "changed";
    }
    return "changed";
}

std::string check_context_write(const UserContext& written, const ContextWriteFlags& flags) {
    if (flags.clear_refresh_token && written.tokens.refresh_token) {
        return "clear_refresh_token contradicts the refresh_token in user_context.tokens (give one or the other)";
    }
    return {};
}

bool is_stale_tokens(const Tokens& stored, const Tokens& written) {
    if (!stored.access_token) return false;
    if (written.access_token == stored.access_token) return false;
    if (!stored.expires_at) return false;
    return !written.expires_at || *written.expires_at < *stored.expires_at;
}

namespace {

ContextWrite decide_tokens(const std::optional<UserContext>& stored, const UserContext& written,
                           const ContextWriteFlags& flags) {
    ContextWrite decision;
    decision.context = written;
    Tokens& tokens = decision.context.tokens;
    if (stored && !flags.force && is_stale_tokens(stored->tokens, written.tokens)) {
        tokens = stored->tokens;
        decision.tokens = TokensWritten::kept_newer;
        decision.refresh_token = tokens.refresh_token ? RefreshTokenWritten::kept : RefreshTokenWritten::none;
        return decision;
    }
    if (flags.clear_refresh_token) {
        tokens.refresh_token.reset();
        tokens.refresh_token_expires_at.reset();
        decision.refresh_token = RefreshTokenWritten::cleared;
    } else if (tokens.refresh_token) {
        decision.refresh_token = RefreshTokenWritten::written;
    } else if (stored && stored->tokens.refresh_token) {
        tokens.refresh_token = stored->tokens.refresh_token;
        tokens.refresh_token_expires_at = stored->tokens.refresh_token_expires_at;
        decision.refresh_token = RefreshTokenWritten::kept;
    } else {
        decision.refresh_token = RefreshTokenWritten::none;
    }
    return decision;
}

}  // namespace

ContextWrite decide_context_write(const std::optional<UserContext>& stored, const UserContext& written,
                                  const ContextWriteFlags& flags) {
    ContextWrite decision = decide_tokens(stored, written, flags);
    decision.change = !stored                            ? ContextChange::created
                      : *stored == decision.context ? ContextChange::unchanged
                                                    : ContextChange::changed;
    return decision;
}

}  // namespace tokend
