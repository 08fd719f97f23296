#include "core/refresh_policy.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp t0() { return Timestamp{sys_days{year{2026} / December / 1}}; }

Tokens webex_tokens(Timestamp issued, seconds access_life = hours(24 * 14), seconds refresh_life = hours(24 * 90)) {
    Tokens tokens;
    tokens.access_token = Secret("access");
    tokens.expires_at = issued + access_life;
    tokens.refresh_token = Secret("refresh");
    tokens.refresh_token_expires_at = issued + refresh_life;
    return tokens;
}

TEST(RefreshPolicyTest, NoRefreshTokenMeansNothingToSchedule) {
    Tokens tokens = webex_tokens(t0());
    tokens.refresh_token.reset();
    EXPECT_FALSE(refresh_deadline(tokens, t0(), RefreshPolicy{}, 0.5));
    tokens.refresh_token = Secret("");
    EXPECT_FALSE(refresh_deadline(tokens, t0(), RefreshPolicy{}, 0.5));
}

TEST(RefreshPolicyTest, WebexTokensRefreshAtAQuarterOfTheirLifeLeftPlusJitter) {
    const RefreshPolicy policy;
    const Tokens tokens = webex_tokens(t0());
    // 14 days: 25 % = 3.5 days before expiry, jitter up to 10 % = 1.4 days more.
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.0), t0() + hours(24 * 14) - hours(84));
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.5), t0() + hours(24 * 14) - hours(84) - minutes(1008));
    EXPECT_GT(*refresh_deadline(tokens, t0(), policy, 0.999), t0() + hours(24 * 14) - hours(84) - minutes(2016));
}

TEST(RefreshPolicyTest, TheMarginWinsOverASmallFraction) {
    RefreshPolicy policy;
    policy.fraction = 0.0;
    policy.jitter = 0.0;
    const Tokens tokens = webex_tokens(t0(), hours(2));
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.7), t0() + hours(2) - minutes(10));
}

TEST(RefreshPolicyTest, NeverInTheFirstHalfOfATokensLife) {
    const RefreshPolicy policy;  // a 10-minute margin is longer than the whole life
    const Tokens tokens = webex_tokens(t0(), seconds(8));
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.9), t0() + seconds(4));
}

TEST(RefreshPolicyTest, AnExpiredTokenIsDueAtOnce) {
    const Tokens tokens = webex_tokens(t0() - hours(24 * 20));
    const Timestamp loaded = t0();
    EXPECT_LE(*refresh_deadline(tokens, loaded, RefreshPolicy{}, 0.3), loaded);
}

TEST(RefreshPolicyTest, NoAccessTokenIsDueWhenObtained) {
    Tokens tokens = webex_tokens(t0());
    tokens.access_token.reset();
    EXPECT_EQ(*refresh_deadline(tokens, t0() + hours(1), RefreshPolicy{}, 0.3), t0() + hours(1));
}

TEST(RefreshPolicyTest, KeepsTheGrantAliveBeforeTheRefreshTokenExpires) {
    RefreshPolicy policy;
    // A long-lived access token (60 days) and a refresh token ending in 20 days.
    const Tokens tokens = webex_tokens(t0(), hours(24 * 60), hours(24 * 20));
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.0), t0() + hours(24 * 13));
}

TEST(RefreshPolicyTest, KeepaliveWhenNothingElseComesDue) {
    RefreshPolicy policy;
    Tokens tokens = webex_tokens(t0(), hours(24 * 365), hours(24 * 365 * 2));
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.0), t0() + hours(24 * 30));
    tokens.expires_at.reset();  // no expiry known at all
    tokens.refresh_token_expires_at.reset();
    EXPECT_EQ(*refresh_deadline(tokens, t0(), policy, 0.0), t0() + hours(24 * 30));
}

TEST(RefreshPolicyTest, ReadsWaitOnlyInsideTheReadMargin) {
    const RefreshPolicy policy;
    const Tokens tokens = webex_tokens(t0(), seconds(600));
    EXPECT_TRUE(usable_without_refresh(tokens, t0(), policy));
    EXPECT_TRUE(usable_without_refresh(tokens, t0() + seconds(479), policy));
    EXPECT_FALSE(usable_without_refresh(tokens, t0() + seconds(480), policy));
    EXPECT_TRUE(still_valid(tokens, t0() + seconds(599)));
    EXPECT_FALSE(still_valid(tokens, t0() + seconds(600)));
    Tokens none;
    EXPECT_FALSE(usable_without_refresh(none, t0(), policy));
    EXPECT_FALSE(still_valid(none, t0()));
}

TEST(RefreshPolicyTest, RetryDelaysGrowWithEqualJitterAndHonourRetryAfter) {
    RefreshPolicy policy;
    policy.retry_base = milliseconds(1000);
    policy.retry_cap = milliseconds(60000);
    EXPECT_EQ(refresh_retry_delay(policy, 1, std::nullopt, 0.0), milliseconds(500));
    EXPECT_EQ(refresh_retry_delay(policy, 1, std::nullopt, 1.0), milliseconds(1000));
    EXPECT_EQ(refresh_retry_delay(policy, 3, std::nullopt, 0.0), milliseconds(2000));
    EXPECT_EQ(refresh_retry_delay(policy, 30, std::nullopt, 1.0), milliseconds(60000));
    EXPECT_EQ(refresh_retry_delay(policy, 1, milliseconds(7000), 0.5), milliseconds(7000));
    EXPECT_EQ(refresh_retry_delay(policy, 1, milliseconds(9999999), 0.5), milliseconds(60000));
}

}  // namespace
}  // namespace tokend
