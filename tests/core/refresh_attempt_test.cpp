// Every branch of one refresh attempt, driven by hand: no store, no provider,
// no loop; time is a ManualClock moved by the test.
#include "core/refresh_attempt.h"
#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;
using Kind = RefreshAttempt::Step::Kind;
using Level = LogNote::Level;
using Written = WriteResult::Written;

class RefreshAttemptTest : public testing::Test {
protected:
    RefreshAttemptTest() : clock_(*parse_iso8601("2026-12-01T10:00:00Z")) {
        oauth_.client_id = "C123";
        oauth_.client_secret = Secret("CLIENT-SECRET");
        oauth_.token_service = "http://127.0.0.1:9/v1/access_token";
        context_.user_id = "U1";
        context_.tokens.access_token = Secret("OLD-AT");
        context_.tokens.expires_at = clock_.now() + minutes{1};
        context_.tokens.refresh_token = Secret("OLD-RT");
        context_.tokens.refresh_token_expires_at = clock_.now() + days{60};
        context_.tokens.token_type = "Bearer";
        context_.tokens.scope = "spark:all";
        context_.extra = Json{{"note", "kept"}};
    }

    RefreshAttempt attempt(double random_fraction = 0.5) {
        return RefreshAttempt(oauth_, policy_, seconds{15}, random_fraction);
    }
    CachedUser cached(uint32_t failures = 0) const { return CachedUser{&context_, failures}; }
    Timestamp now() const { return clock_.now(); }

    // An attempt without a lease, asked the provider.
    RefreshAttempt::Step to_provider(RefreshAttempt& refresh, uint32_t failures = 0) {
        auto step = refresh.begin(cached(failures), nullptr, true, false, now());
        EXPECT_EQ(step.kind, Kind::http);
        return step;
    }

    static std::string stored_text(const UserContext& context) { return to_stored_text(context); }
    static bool has_note(const RefreshAttempt::Step& step, Level level, const std::string& part) {
        for (const LogNote& note : step.notes) {
            if (note.level == level && note.text.find(part) != std::string::npos) return true;
        }
        return false;
    }

    const std::string answer_ =
        R"({"access_token":"NEW-AT","expires_in":1209600,"refresh_token":"NEW-RT",)"
        R"("refresh_token_expires_in":7776000,"token_type":"Bearer","scope":"spark:all"})";
    ManualClock clock_;
    OAuthSettings oauth_;
    RefreshPolicy policy_;
    UserContext context_;
};

TEST_F(RefreshAttemptTest, WithoutALeaseAsksTheProviderOnceAndStoresTheAnswer) {
    auto refresh = attempt();
    auto step = to_provider(refresh);
    EXPECT_EQ(step.http.method, "POST");
    EXPECT_EQ(step.http.url, "http://127.0.0.1:9/v1/access_token");
    EXPECT_EQ(step.http.content_type, "application/x-www-form-urlencoded");
    // One request per attempt: the schedule retries, never the sender.
    EXPECT_FALSE(step.http.retry_allowed);
    auto form = parse_query(step.http.body.reveal(), {});
    ASSERT_TRUE(form);
    EXPECT_EQ(*form, (FormFields{{"grant_type", "refresh_token"},
                                 {"client_id", "C123"},
                                 {"client_secret", "CLIENT-SECRET"},
                                 {"refresh_token", "OLD-RT"}}));
    EXPECT_EQ(step.http.url.find("SECRET"), std::string::npos);

    clock_.advance(seconds{1});
    step = refresh.on_http_response(200, answer_, "", "", cached(), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_FALSE(step.fenced);
    EXPECT_EQ(step.base, context_.tokens);
    EXPECT_EQ(step.context.user_id, "U1");
    EXPECT_EQ(step.context.extra, context_.extra);  // the rest of the context kept
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
    EXPECT_EQ(*step.context.tokens.expires_at, now() + days{14});

    step = refresh.on_written({Written::stored, std::nullopt, ""}, cached(), now());
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.ending, RefreshEnding::refreshed);
    EXPECT_EQ(step.result.status, RefreshStatus::refreshed);
    ASSERT_TRUE(step.remember);
    EXPECT_EQ(step.remember->tokens.access_token->reveal(), "NEW-AT");
    EXPECT_EQ(refresh.updated().tokens.refresh_token->reveal(), "NEW-RT");
    EXPECT_FALSE(step.retry_scheduled);
    EXPECT_FALSE(step.try_again_in);
    EXPECT_FALSE(step.unsaved);
    EXPECT_FALSE(step.reload);
}

TEST_F(RefreshAttemptTest, ARefreshTokenTheProviderLeftOutIsKept) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(200, R"({"access_token":"NEW-AT","expires_in":3600})", "", "", cached(), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
    EXPECT_EQ(step.context.tokens.refresh_token->reveal(), "OLD-RT");
    EXPECT_EQ(step.context.tokens.refresh_token_expires_at, context_.tokens.refresh_token_expires_at);
}

TEST_F(RefreshAttemptTest, UnconfiguredTakesTheUserOffTheSchedule) {
    auto refresh = attempt();
    auto step = refresh.begin(cached(), nullptr, false, true, now());
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.ending, RefreshEnding::unconfigured);
    EXPECT_TRUE(step.unschedule);
    EXPECT_EQ(step.result.status, RefreshStatus::provider_error);
    EXPECT_EQ(step.result.message, "no OAuth integration is configured");
    EXPECT_FALSE(step.retry_scheduled);
}

TEST_F(RefreshAttemptTest, WithLeasesTheStoredContextIsReadUnderTheLeaseAndWrittenFenced) {
    auto refresh = attempt();
    auto step = refresh.begin(cached(), nullptr, true, true, now());
    ASSERT_EQ(step.kind, Kind::lease);
    EXPECT_EQ(step.lease_ttl, milliseconds{30000});  // the request timeout plus 15 s
    step = refresh.on_leased({LeasedRead::Result::read, 42, stored_text(context_), ""}, cached(), now());
    ASSERT_EQ(step.kind, Kind::http);
    step = refresh.on_http_response(200, answer_, "", "", cached(), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_TRUE(step.fenced);
    EXPECT_EQ(step.fence, 42u);
    step = refresh.on_written({Written::stored, std::nullopt, ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::refreshed);
}

TEST_F(RefreshAttemptTest, ABusyLeaseTriesAgainShortlyAndLetsCallersHaveTheCurrentToken) {
    auto refresh = attempt(0.5);
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::busy, 0, "", ""}, cached(), now());
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.ending, RefreshEnding::lease_busy);
    EXPECT_EQ(step.try_again_in, milliseconds{1250});  // 1 s + half of the 0.5 s jitter
    EXPECT_FALSE(step.retry_scheduled);                 // not a failure
    EXPECT_FALSE(step.waiters_keep_waiting);            // the current token still works
    EXPECT_EQ(step.result.status, RefreshStatus::provider_error);
    EXPECT_EQ(step.result.message, "another process is refreshing this token");
}

TEST_F(RefreshAttemptTest, ABusyLeaseWithAnExpiredTokenKeepsCallersWaitingForTheOtherProcess) {
    auto refresh = attempt(0.0);
    refresh.begin(cached(), nullptr, true, true, now());
    clock_.advance(minutes{2});  // past expires_at
    auto step = refresh.on_leased({LeasedRead::Result::busy, 0, "", ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::lease_busy);
    EXPECT_TRUE(step.waiters_keep_waiting);
    EXPECT_EQ(step.try_again_in, milliseconds{1000});
}

TEST_F(RefreshAttemptTest, ABusyLeaseForAClearedUserSchedulesNothing) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::busy, 0, "", ""}, CachedUser{}, now());
    EXPECT_EQ(step.ending, RefreshEnding::lease_busy);
    EXPECT_FALSE(step.try_again_in);
    EXPECT_FALSE(step.waiters_keep_waiting);
}

// Seen in bench/redis/scale.py (4 processes): the lease holder's new tokens
// reached this process's cache while its own lease request was out; the retry
// a second later then refreshed the new tokens again (~1% of grants twice).
TEST_F(RefreshAttemptTest, ABusyLeaseAfterTheHoldersResultArrivedAdoptsItAndSchedulesNoRetry) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    UserContext moved_on = context_;
    moved_on.tokens.access_token = Secret("NEW-AT");
    moved_on.tokens.refresh_token = Secret("NEW-RT");
    moved_on.tokens.expires_at = now() + days{14};
    auto step = refresh.on_leased({LeasedRead::Result::busy, 0, "", ""}, CachedUser{&moved_on, 0}, now());
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.ending, RefreshEnding::adopted);
    EXPECT_FALSE(step.try_again_in);  // the schedule the cache set from the new tokens stands
    EXPECT_FALSE(step.waiters_keep_waiting);
    EXPECT_EQ(step.result.status, RefreshStatus::refreshed);
    EXPECT_FALSE(step.remember);  // already in the cache
}

TEST_F(RefreshAttemptTest, AFailedLeaseIsAStoreFailureRetriedWithBackoff) {
    auto refresh = attempt(0.5);
    refresh.begin(cached(2), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::failed, 0, "", "UNAVAILABLE: connection refused"}, cached(2), now());
    EXPECT_EQ(step.ending, RefreshEnding::store_failed);
    EXPECT_EQ(step.result.status, RefreshStatus::store_failed);
    EXPECT_EQ(step.result.message, "store: UNAVAILABLE: connection refused");
    EXPECT_TRUE(step.retry_scheduled);
    EXPECT_EQ(step.failures, 3u);
    // Third failure: window 4 s, equal jitter at 0.5: 2 s + 1 s.
    EXPECT_EQ(step.try_again_in, milliseconds{3000});
    EXPECT_TRUE(has_note(step, Level::info, "refresh attempt 3 failed; next attempt in 3000 ms"));
}

TEST_F(RefreshAttemptTest, AFailedLeaseWhileWritingUnsavedTokensIsRetriedToo) {
    // Before the refresh machine, this case left the user off the schedule:
    // the unsaved tokens waited for a reader or a store change.
    UnsavedTokens unsaved{context_.tokens, context_.tokens};
    unsaved.fresh.access_token = Secret("NEW-AT");
    auto refresh = attempt(0.5);
    auto step = refresh.begin(cached(1), &unsaved, true, true, now());
    ASSERT_EQ(step.kind, Kind::lease);
    step = refresh.on_leased({LeasedRead::Result::failed, 0, "", "UNAVAILABLE"}, cached(1), now());
    EXPECT_EQ(step.ending, RefreshEnding::store_failed);
    EXPECT_TRUE(step.retry_scheduled);
    EXPECT_EQ(step.failures, 2u);
    EXPECT_EQ(step.try_again_in, milliseconds{1500});
}

TEST_F(RefreshAttemptTest, AFailedLeaseForAClearedUserSchedulesNothing) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::failed, 0, "", "UNAVAILABLE"}, CachedUser{}, now());
    EXPECT_EQ(step.ending, RefreshEnding::store_failed);
    EXPECT_FALSE(step.retry_scheduled);
    EXPECT_FALSE(step.try_again_in);
}

TEST_F(RefreshAttemptTest, NothingStoredUnderTheLeaseMeansTheUserIsGone) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::absent, 7, "", ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::gone);
    EXPECT_EQ(step.result.status, RefreshStatus::not_found);
    EXPECT_EQ(step.result.message, "user context was cleared");
    EXPECT_FALSE(step.retry_scheduled);
}

TEST_F(RefreshAttemptTest, TokensRefreshedElsewhereBeforeTheLeaseAreAdoptedWithoutAskingTheProvider) {
    UserContext theirs = context_;
    theirs.tokens.access_token = Secret("THEIR-AT");
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::read, 9, stored_text(theirs), ""}, cached(), now());
    ASSERT_EQ(step.kind, Kind::write);  // compares again under the lease, then adopts
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "THEIR-AT");
    EXPECT_EQ(step.base, context_.tokens);
    EXPECT_TRUE(step.fenced);
    step = refresh.on_written({Written::moved_on, theirs, ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::adopted);
    EXPECT_EQ(step.result.status, RefreshStatus::refreshed);
    ASSERT_TRUE(step.remember);
    EXPECT_EQ(step.remember->tokens.access_token->reveal(), "THEIR-AT");
    EXPECT_TRUE(has_note(step, Level::info, "the store holds newer tokens"));
}

TEST_F(RefreshAttemptTest, AnUnreadableStoredContextIsOverwritten) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::read, 9, "{not json", ""}, cached(), now());
    EXPECT_EQ(step.kind, Kind::http);
}

TEST_F(RefreshAttemptTest, ALapsedLeaseLosesTheWriteAndRereadsTheStore) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    refresh.on_leased({LeasedRead::Result::read, 3, stored_text(context_), ""}, cached(), now());
    refresh.on_http_response(200, answer_, "", "", cached(), now());
    auto step = refresh.on_written({Written::fenced_out, std::nullopt, ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::adopted);
    EXPECT_TRUE(step.reload);
    EXPECT_FALSE(step.remember);
    EXPECT_TRUE(has_note(step, Level::warn, "the lease lapsed and another process wrote"));
}

TEST_F(RefreshAttemptTest, UnsavedTokensAreWrittenWithoutAskingTheProviderAgain) {
    UnsavedTokens unsaved{context_.tokens, context_.tokens};
    unsaved.fresh.access_token = Secret("NEW-AT");
    auto refresh = attempt();
    auto step = refresh.begin(cached(1), &unsaved, true, false, now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_FALSE(step.fenced);
    EXPECT_EQ(step.base, unsaved.base);
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
    step = refresh.on_written({Written::stored, std::nullopt, ""}, cached(1), now());
    EXPECT_EQ(step.ending, RefreshEnding::refreshed);

    // With leases: after the lease, still no provider request.
    auto leased = attempt();
    step = leased.begin(cached(1), &unsaved, true, true, now());
    ASSERT_EQ(step.kind, Kind::lease);
    step = leased.on_leased({LeasedRead::Result::read, 5, stored_text(context_), ""}, cached(1), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_TRUE(step.fenced);
    EXPECT_EQ(step.fence, 5u);
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
}

TEST_F(RefreshAttemptTest, UnsavedTokensFoundStoredAreWrittenAgainNotAdopted) {
    // A write that landed but reported failure (a Redis WAIT that timed out):
    // the retry finds our own tokens stored. Adopting them would hand out
    // tokens no replica confirmed; writing them again lets the store say.
    UnsavedTokens unsaved{context_.tokens, context_.tokens};
    unsaved.fresh.access_token = Secret("NEW-AT");
    UserContext ours = context_;
    ours.tokens = unsaved.fresh;

    auto plain = attempt();
    auto step = plain.begin(cached(1), &unsaved, true, false, now());
    ASSERT_EQ(step.kind, Kind::write);
    ASSERT_TRUE(step.own);
    EXPECT_EQ(*step.own, unsaved.fresh);
    EXPECT_FALSE(stored_moved_on(step.base, stored_text(ours), &*step.own));

    auto leased = attempt();
    step = leased.begin(cached(1), &unsaved, true, true, now());
    step = leased.on_leased({LeasedRead::Result::read, 5, stored_text(ours), ""}, cached(1), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_EQ(step.own, unsaved.fresh);
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
    step = leased.on_written({Written::stored, std::nullopt, ""}, cached(1), now());
    EXPECT_EQ(step.ending, RefreshEnding::refreshed);

    // Someone else's tokens are still adopted.
    UserContext theirs = context_;
    theirs.tokens.access_token = Secret("THEIR-AT");
    EXPECT_TRUE(stored_moved_on(unsaved.base, stored_text(theirs), &unsaved.fresh));
    // A refresh that wrote nothing unsaved has nothing of its own to write again.
    auto fresh = attempt();
    step = fresh.begin(cached(), nullptr, true, false, now());
    EXPECT_FALSE(step.own);
}

TEST_F(RefreshAttemptTest, AStoreThatRefusesTheWriteKeepsTheTokensUnsavedAndRetries) {
    auto refresh = attempt(0.0);
    to_provider(refresh);
    refresh.on_http_response(200, answer_, "", "", cached(), now());
    auto step = refresh.on_written({Written::failed, std::nullopt, "UNAVAILABLE: disk full"}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::store_failed);
    EXPECT_EQ(step.result.status, RefreshStatus::store_failed);
    EXPECT_EQ(step.result.message, "store: UNAVAILABLE: disk full");
    ASSERT_TRUE(step.unsaved);
    EXPECT_EQ(step.unsaved->base, context_.tokens);
    EXPECT_EQ(step.unsaved->fresh.access_token->reveal(), "NEW-AT");
    EXPECT_FALSE(step.remember);  // never handed out before it is stored
    EXPECT_TRUE(step.retry_scheduled);
    EXPECT_EQ(step.failures, 1u);
    EXPECT_EQ(step.try_again_in, milliseconds{500});
    ASSERT_EQ(step.notes.size(), 2u);  // what failed, then when the next try is
    EXPECT_EQ(step.notes[0].level, Level::error);
    EXPECT_NE(step.notes[0].text.find("kept unsaved, write retried"), std::string::npos);
    EXPECT_EQ(step.notes[1].level, Level::info);
}

TEST_F(RefreshAttemptTest, NoRefreshTokenMeansADeadGrantStoredAsSuch) {
    context_.tokens.refresh_token.reset();
    auto refresh = attempt();
    auto step = refresh.begin(cached(), nullptr, true, false, now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_FALSE(step.context.tokens.access_token);
    EXPECT_FALSE(step.context.tokens.expires_at);
    EXPECT_EQ(step.context.tokens.token_type, "Bearer");
    EXPECT_EQ(step.context.tokens.scope, "spark:all");
    step = refresh.on_written({Written::stored, std::nullopt, ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::reauth);
    EXPECT_EQ(step.result.status, RefreshStatus::reauth_required);
    EXPECT_EQ(step.result.message, "user U1 must authorize again");
    ASSERT_TRUE(step.remember);
    EXPECT_FALSE(step.remember->tokens.refresh_token);
}

TEST_F(RefreshAttemptTest, InvalidGrantIsADeadGrantEvenWhenTheStoreFails) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(400, R"({"error":"invalid_grant"})", "", "", cached(), now());
    ASSERT_EQ(step.kind, Kind::write);
    EXPECT_TRUE(has_note(step, Level::warn, "refresh refused (invalid_grant)"));
    EXPECT_FALSE(step.context.tokens.access_token);
    EXPECT_FALSE(step.context.tokens.refresh_token);
    step = refresh.on_written({Written::failed, std::nullopt, "UNAVAILABLE"}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::reauth);  // said at once, stored later
    EXPECT_TRUE(has_note(step, Level::error, "cannot store the revoked grant: UNAVAILABLE"));
    ASSERT_TRUE(step.remember);
    EXPECT_FALSE(step.unsaved);
    EXPECT_FALSE(step.retry_scheduled);
}

TEST_F(RefreshAttemptTest, AnUnusableAnswerIsRetried) {
    auto refresh = attempt(0.5);
    to_provider(refresh);
    auto step = refresh.on_http_response(200, R"({"token":"x"})", "", "", cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::retry);
    EXPECT_EQ(step.result.status, RefreshStatus::provider_error);
    EXPECT_EQ(step.result.message, "token endpoint answer unusable");
    EXPECT_TRUE(has_note(step, Level::warn, "refresh answer unusable"));
    EXPECT_TRUE(step.retry_scheduled);
    EXPECT_EQ(step.try_again_in, milliseconds{750});
}

TEST_F(RefreshAttemptTest, RetryAfterWinsOverTheBackoffUpToTheCap) {
    auto refresh = attempt();
    to_provider(refresh, 4);
    auto step = refresh.on_http_response(503, "", "7", "", cached(4), now());
    EXPECT_EQ(step.ending, RefreshEnding::retry);
    EXPECT_EQ(step.result.message, "token endpoint: HTTP 503");
    EXPECT_EQ(step.failures, 5u);
    EXPECT_EQ(step.try_again_in, milliseconds{7000});
    EXPECT_FALSE(has_note(step, Level::error, "refresh failed"));  // a passing failure

    auto capped = attempt();
    to_provider(capped);
    step = capped.on_http_response(429, "", "86400", "", cached(), now());
    EXPECT_EQ(step.try_again_in, milliseconds{policy_.retry_cap});

    // An HTTP-date, and an invalid value that is ignored (backoff instead).
    auto dated = attempt();
    to_provider(dated);
    step = dated.on_http_response(503, "", "Tue, 01 Dec 2026 10:01:30 GMT", "", cached(), now());
    EXPECT_EQ(step.try_again_in, milliseconds{90000});
    auto invalid = attempt(1.0);
    to_provider(invalid);
    step = invalid.on_http_response(503, "", "soon", "", cached(), now());
    EXPECT_EQ(step.try_again_in, milliseconds{1000});
}

TEST_F(RefreshAttemptTest, ARefusedClientIsLoggedAsNotPassingAndStillRetried) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(401, R"({"error":"invalid_client"})", "", "", cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::retry);
    EXPECT_EQ(step.result.message, "token endpoint: HTTP 401 invalid_client");
    EXPECT_TRUE(has_note(step, Level::error, "refresh failed: HTTP 401 invalid_client (not a passing failure"));
    EXPECT_TRUE(step.retry_scheduled);
}

// Where app's old helpers and core's disagreed, core's rules now hold (see
// oauth_error_of and is_retryable).
TEST_F(RefreshAttemptTest, OnlyAWellFormedOAuthErrorCodeIsRepeated) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(400, R"({"error":"Bad <b>thing</b> at https://x"})", "", "", cached(), now());
    EXPECT_EQ(step.result.message, "token endpoint: HTTP 400");
    for (const LogNote& note : step.notes) EXPECT_EQ(note.text.find("thing"), std::string::npos) << note.text;
}

TEST_F(RefreshAttemptTest, AStatusOutsideHttpsRangeIsNotAPassingFailure) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(600, "", "", "", cached(), now());
    EXPECT_TRUE(has_note(step, Level::error, "refresh failed: HTTP 600 (not a passing failure"));
    EXPECT_TRUE(step.retry_scheduled);
    auto not_implemented = attempt();
    to_provider(not_implemented);
    step = not_implemented.on_http_response(501, "", "", "", cached(), now());
    EXPECT_TRUE(has_note(step, Level::error, "not a passing failure"));
}

TEST_F(RefreshAttemptTest, NoAnswerIsAPassingFailureNamedByTheTransportError) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(0, "", "", "127.0.0.1: Connection refused", cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::retry);
    EXPECT_EQ(step.result.message, "token endpoint: 127.0.0.1: Connection refused");
    EXPECT_FALSE(has_note(step, Level::error, "refresh failed"));
    EXPECT_TRUE(step.retry_scheduled);
}

TEST_F(RefreshAttemptTest, AUserClearedWhileTheProviderAnsweredIsGone) {
    auto refresh = attempt();
    to_provider(refresh);
    auto step = refresh.on_http_response(200, answer_, "", "", CachedUser{}, now());
    EXPECT_EQ(step.ending, RefreshEnding::gone);
    EXPECT_EQ(step.result.status, RefreshStatus::not_found);
    EXPECT_FALSE(step.retry_scheduled);
}

TEST_F(RefreshAttemptTest, AUserClearedBeforeTheWriteIsGone) {
    auto refresh = attempt();
    to_provider(refresh);
    refresh.on_http_response(200, answer_, "", "", cached(), now());
    auto step = refresh.on_written({Written::absent, std::nullopt, ""}, cached(), now());
    EXPECT_EQ(step.ending, RefreshEnding::gone);
    auto cleared = attempt();
    to_provider(cleared);
    cleared.on_http_response(200, answer_, "", "", cached(), now());
    step = cleared.on_written({Written::stored, std::nullopt, ""}, CachedUser{}, now());
    EXPECT_EQ(step.ending, RefreshEnding::gone);
    EXPECT_FALSE(step.remember);
}

TEST_F(RefreshAttemptTest, AUserClearedAfterTheLeaseIsGone) {
    auto refresh = attempt();
    refresh.begin(cached(), nullptr, true, true, now());
    auto step = refresh.on_leased({LeasedRead::Result::read, 1, stored_text(context_), ""}, CachedUser{}, now());
    EXPECT_EQ(step.ending, RefreshEnding::gone);
}

TEST_F(RefreshAttemptTest, StepsOutOfOrderEndTheAttempt) {
    auto refresh = attempt();
    auto step = refresh.on_written({Written::stored, std::nullopt, ""}, cached(), now());
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.ending, RefreshEnding::retry);
    EXPECT_TRUE(has_note(step, Level::error, "out of order"));
    EXPECT_FALSE(step.remember);

    auto twice = attempt();
    to_provider(twice);
    step = twice.begin(cached(), nullptr, true, false, now());
    EXPECT_TRUE(has_note(step, Level::error, "out of order"));
    step = attempt().on_leased({LeasedRead::Result::read, 1, "", ""}, cached(), now());
    EXPECT_TRUE(has_note(step, Level::error, "out of order"));
    step = attempt().on_http_response(200, answer_, "", "", cached(), now());
    EXPECT_TRUE(has_note(step, Level::error, "out of order"));
    step = attempt().begin(CachedUser{}, nullptr, true, false, now());
    EXPECT_TRUE(has_note(step, Level::error, "out of order"));
}

TEST_F(RefreshAttemptTest, StoredMovedOnComparesTokensOnly) {
    EXPECT_FALSE(stored_moved_on(context_.tokens, stored_text(context_)));
    UserContext other_extra = context_;
    other_extra.extra = Json{{"note", "changed"}};
    EXPECT_FALSE(stored_moved_on(context_.tokens, stored_text(other_extra)));
    EXPECT_FALSE(stored_moved_on(context_.tokens, "[]"));
    UserContext theirs = context_;
    theirs.tokens.refresh_token = Secret("THEIR-RT");
    auto moved = stored_moved_on(context_.tokens, stored_text(theirs));
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->tokens.refresh_token->reveal(), "THEIR-RT");
}

TEST(OAuthErrorOf, TakesOnlyLowercaseCodes) {
    EXPECT_EQ(oauth_error_of(R"({"error":"invalid_grant","error_description":"x"})"), "invalid_grant");
    EXPECT_EQ(oauth_error_of(R"({"error":"Invalid_Grant"})"), "");
    EXPECT_EQ(oauth_error_of(R"({"error":""})"), "");
    EXPECT_EQ(oauth_error_of(R"({"error":")" + std::string(65, 'a') + R"("})"), "");
    EXPECT_EQ(oauth_error_of(R"({"error":42})"), "");
    EXPECT_EQ(oauth_error_of("not json"), "");
    EXPECT_EQ(oauth_error_of("[]"), "");
}

TEST(RefreshEndingNames, AreStable) {
    EXPECT_EQ(to_string(RefreshEnding::refreshed), "refreshed");
    EXPECT_EQ(to_string(RefreshEnding::lease_busy), "lease_busy");
    EXPECT_EQ(to_string(RefreshEnding::unconfigured), "unconfigured");
}

}  // namespace
}  // namespace tokend
