#include "core/context_write.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

Timestamp at(const char* iso) { return *parse_iso8601(iso); }

UserContext context(const char* access, const char* expires, const char* refresh, const char* refresh_expires) {
    UserContext c;
    c.user_id = "u1";
    if (access) c.tokens.access_token = Secret(access);
    if (expires) c.tokens.expires_at = at(expires);
    if (refresh) c.tokens.refresh_token = Secret(refresh);
    if (refresh_expires) c.tokens.refresh_token_expires_at = at(refresh_expires);
    c.tokens.token_type = "Bearer";
    return c;
}

const char* kEarly = "2026-12-01T10:00:00+00:00";
const char* kLate = "2026-12-01T11:00:00+00:00";
const char* kRefreshEnd = "2027-03-01T10:00:00+00:00";

TEST(ContextWrite, NothingStoredWritesWhatCame) {
    const UserContext written = context("AT", kLate, "RT", kRefreshEnd);
    const ContextWrite decision = decide_context_write(std::nullopt, written, {});
    EXPECT_EQ(decision.context, written);
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::written);
}

TEST(ContextWrite, NothingStoredAndNoRefreshTokenIsNone) {
    const ContextWrite decision = decide_context_write(std::nullopt, context("AT", kLate, nullptr, nullptr), {});
    EXPECT_FALSE(decision.context.tokens.refresh_token);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::none);
}

TEST(ContextWrite, AWithheldRefreshTokenWrittenBackKeepsTheStoredOne) {
    // The read-modify-write of a caller outside refresh_token_readers.
    const UserContext stored = context("AT", kLate, "RT", kRefreshEnd);
    UserContext written = context("AT", kLate, nullptr, nullptr);
    written.extra = Json{{"bot_state", 3}};
    const ContextWrite decision = decide_context_write(stored, written, {});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::kept);
    EXPECT_EQ(decision.context.tokens.refresh_token->reveal(), "RT");
    EXPECT_EQ(decision.context.tokens.refresh_token_expires_at, at(kRefreshEnd));
    EXPECT_EQ(decision.context.extra["bot_state"], 3);
}

TEST(ContextWrite, KeptRefreshTokenBringsItsOwnExpiryNotTheWrittenOne) {
    const UserContext stored = context("AT", kLate, "RT", kRefreshEnd);
    const UserContext written = context("AT", kLate, nullptr, kEarly);
    const ContextWrite decision = decide_context_write(stored, written, {});
    EXPECT_EQ(decision.context.tokens.refresh_token_expires_at, at(kRefreshEnd));
}

TEST(ContextWrite, ANewRefreshTokenReplacesTheStoredOne) {
    const UserContext stored = context("AT", kEarly, "RT", kRefreshEnd);
    const UserContext written = context("AT2", kLate, "RT2", nullptr);
    const ContextWrite decision = decide_context_write(stored, written, {});
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::written);
    EXPECT_EQ(decision.context.tokens.refresh_token->reveal(), "RT2");
    EXPECT_FALSE(decision.context.tokens.refresh_token_expires_at);
}

TEST(ContextWrite, ClearDropsTheRefreshTokenAndItsExpiry) {
    const UserContext stored = context("AT", kLate, "RT", kRefreshEnd);
    const ContextWrite decision = decide_context_write(stored, context("AT", kLate, nullptr, kRefreshEnd),
                                                       {.clear_refresh_token = true});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::cleared);
    EXPECT_FALSE(decision.context.tokens.refresh_token);
    EXPECT_FALSE(decision.context.tokens.refresh_token_expires_at);
    EXPECT_EQ(decision.context.tokens.access_token->reveal(), "AT");
}

TEST(ContextWrite, ClearWithNothingStoredIsStillCleared) {
    const ContextWrite decision =
        decide_context_write(std::nullopt, context("AT", kLate, nullptr, nullptr), {.clear_refresh_token = true});
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::cleared);
}

TEST(ContextWrite, ClearTogetherWithARefreshTokenIsAContradiction) {
    EXPECT_NE(check_context_write(context("AT", kLate, "RT", nullptr), {.clear_refresh_token = true}), "");
    EXPECT_EQ(check_context_write(context("AT", kLate, nullptr, nullptr), {.clear_refresh_token = true}), "");
    EXPECT_EQ(check_context_write(context("AT", kLate, "RT", nullptr), {}), "");
    // The message names no value.
    EXPECT_EQ(check_context_write(context("AT", kLate, "SECRET-RT", nullptr), {.clear_refresh_token = true})
                  .find("SECRET"),
              std::string::npos);
}

TEST(ContextWrite, AStaleCopyKeepsTheStoredTokensWholeButTheRestApplies) {
    // Read before a refresh that happened since: older access token, earlier expiry.
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    UserContext written = context("AT1", kEarly, "RT1", nullptr);
    written.extra = Json{{"note", "mine"}};
    const ContextWrite decision = decide_context_write(stored, written, {});
    EXPECT_EQ(decision.tokens, TokensWritten::kept_newer);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::kept);
    EXPECT_EQ(decision.context.tokens, stored.tokens);
    EXPECT_EQ(decision.context.extra["note"], "mine");
}

TEST(ContextWrite, AStaleCopyWithoutExpiryIsStaleToo) {
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    const ContextWrite decision = decide_context_write(stored, context("AT1", nullptr, nullptr, nullptr), {});
    EXPECT_EQ(decision.tokens, TokensWritten::kept_newer);
    EXPECT_EQ(decision.context.tokens, stored.tokens);
}

TEST(ContextWrite, AStaleCopyOverAContextWithoutRefreshTokenAnswersNone) {
    const UserContext stored = context("AT2", kLate, nullptr, nullptr);
    const ContextWrite decision = decide_context_write(stored, context("AT1", kEarly, "RT1", nullptr), {});
    EXPECT_EQ(decision.tokens, TokensWritten::kept_newer);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::none);
    EXPECT_FALSE(decision.context.tokens.refresh_token);
}

TEST(ContextWrite, AStaleCopyIgnoresClearToo) {
    // The stored tokens are kept whole: clearing needs a current copy or force.
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    const ContextWrite decision =
        decide_context_write(stored, context("AT1", kEarly, nullptr, nullptr), {.clear_refresh_token = true});
    EXPECT_EQ(decision.tokens, TokensWritten::kept_newer);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::kept);
    EXPECT_EQ(decision.context.tokens.refresh_token->reveal(), "RT2");
}

TEST(ContextWrite, ForceWritesAStaleCopy) {
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    const ContextWrite decision =
        decide_context_write(stored, context("AT1", kEarly, "RT1", nullptr), {.force = true});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::written);
    EXPECT_EQ(decision.context.tokens.access_token->reveal(), "AT1");
    EXPECT_EQ(decision.context.tokens.refresh_token->reveal(), "RT1");
}

TEST(ContextWrite, ForceStillKeepsAWithheldRefreshToken) {
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    const ContextWrite decision =
        decide_context_write(stored, context("AT1", kEarly, nullptr, nullptr), {.force = true});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::kept);
    EXPECT_EQ(decision.context.tokens.access_token->reveal(), "AT1");
    EXPECT_EQ(decision.context.tokens.refresh_token->reveal(), "RT2");
}

TEST(ContextWrite, ForceAndClearTogetherDropAStoredGrant) {
    const UserContext stored = context("AT2", kLate, "RT2", kRefreshEnd);
    const ContextWrite decision = decide_context_write(stored, context("AT1", kEarly, nullptr, nullptr),
                                                       {.clear_refresh_token = true, .force = true});
    EXPECT_EQ(decision.refresh_token, RefreshTokenWritten::cleared);
    EXPECT_FALSE(decision.context.tokens.refresh_token);
}

TEST(ContextWrite, ANewerGrantWins) {
    // The bot ran a flow of its own: another access token, a later expiry.
    const UserContext stored = context("AT1", kEarly, "RT1", kRefreshEnd);
    const ContextWrite decision = decide_context_write(stored, context("AT2", kLate, "RT2", nullptr), {});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.context.tokens.access_token->reveal(), "AT2");
}

TEST(ContextWrite, TheSameAccessTokenIsNeverStaleWhateverItsExpiry) {
    const UserContext stored = context("AT", kLate, "RT", kRefreshEnd);
    const ContextWrite decision = decide_context_write(stored, context("AT", kEarly, nullptr, nullptr), {});
    EXPECT_EQ(decision.tokens, TokensWritten::written);
    EXPECT_EQ(decision.context.tokens.expires_at, at(kEarly));
}

TEST(ContextWrite, AnEqualExpiryIsNotStale) {
    const UserContext stored = context("AT1", kLate, "RT", kRefreshEnd);
    EXPECT_EQ(decide_context_write(stored, context("AT2", kLate, nullptr, nullptr), {}).tokens,
              TokensWritten::written);
}

TEST(ContextWrite, NothingToCompareWithIsNeverStale) {
    // Stored without an access token (a dead grant), or without an expiry.
    EXPECT_EQ(decide_context_write(context(nullptr, nullptr, nullptr, nullptr), context("AT1", kEarly, nullptr, nullptr), {})
                  .tokens,
              TokensWritten::written);
    EXPECT_EQ(decide_context_write(context("AT2", nullptr, "RT", nullptr), context("AT1", nullptr, nullptr, nullptr), {})
                  .tokens,
              TokensWritten::written);
}

TEST(ContextWrite, NamesItsResults) {
    EXPECT_EQ(to_string(TokensWritten::written), "written");
    EXPECT_EQ(to_string(TokensWritten::kept_newer), "kept_newer");
    EXPECT_EQ(to_string(RefreshTokenWritten::written), "written");
    EXPECT_EQ(to_string(RefreshTokenWritten::kept), "kept");
    EXPECT_EQ(to_string(RefreshTokenWritten::cleared), "cleared");
    EXPECT_EQ(to_string(RefreshTokenWritten::none), "none");
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// What the write does to the stored context as a whole (set_user_context's
// "change", tokenctl import's report).
TEST(ContextWriteChange, CreatedUnchangedChanged) {
    const UserContext stored = context("AT", kLate, "RT", kRefreshEnd);
    EXPECT_EQ(decide_context_write(std::nullopt, stored, {}).change, ContextChange::created);
    EXPECT_EQ(decide_context_write(stored, stored, {}).change, ContextChange::unchanged);
    // Written back without its refresh token: the stored one is kept, nothing changes.
    EXPECT_EQ(decide_context_write(stored, context("AT", kLate, nullptr, nullptr), {}).change,
              ContextChange::unchanged);
    // A stale copy: the stored tokens stay; nothing else differs.
    EXPECT_EQ(decide_context_write(stored, context("OLD", kEarly, "RT0", kRefreshEnd), {}).change,
              ContextChange::unchanged);
    // The same stale copy forced, and a newer grant: the context changes.
    ContextWriteFlags force;
    force.force = true;
    EXPECT_EQ(decide_context_write(stored, context("OLD", kEarly, "RT0", kRefreshEnd), force).change,
              ContextChange::changed);
    EXPECT_EQ(decide_context_write(stored, context("NEW", "2026-12-02T11:00:00+00:00", "RT2", kRefreshEnd), {}).change,
              ContextChange::changed);
}

}  // namespace
}  // namespace tokend
