#include "core/service_counters.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(ServiceCounters, EachIntegrationCountsInItsOwnSet) {
    ServiceCounters counters(2);
    ++counters.of(0).flows_started;
    ++counters.of(1).flows_started;
    ++counters.of(1).flows_started;
    ++counters.of(1).redirect(RedirectOutcome::authenticated);
    ++counters.of(0).sign_out(SignOutRevocation::revoked);
    EXPECT_EQ(counters.of(0).flows_started, 1u);
    EXPECT_EQ(counters.of(1).flows_started, 2u);
    EXPECT_EQ(counters.of(0).redirect(RedirectOutcome::authenticated), 0u);
    EXPECT_EQ(counters.of(1).redirect(RedirectOutcome::authenticated), 1u);
    EXPECT_EQ(counters.of(0).sign_out(SignOutRevocation::revoked), 1u);
    EXPECT_EQ(counters.of(1).sign_outs_total(), 0u);
}

TEST(ServiceCounters, TheTotalSumsEveryIntegrationAndTheUnattributed) {
    ServiceCounters counters(3);
    ++counters.of(0).redirect(RedirectOutcome::wrong_user);
    ++counters.of(2).redirect(RedirectOutcome::wrong_user);
    ++counters.unattributed().redirect(RedirectOutcome::unknown_flow);
    ++counters.unattributed().links_invalid;
    counters.of(1).refreshes_succeeded = 5;
    counters.of(2).bot_messages_failed = 2;
    ++counters.of(1).sign_out(SignOutRevocation::not_requested);
    ++counters.of(2).sign_out(SignOutRevocation::failed);
    const IntegrationCounters total = counters.total();
    EXPECT_EQ(total.redirect(RedirectOutcome::wrong_user), 2u);
    EXPECT_EQ(total.redirect(RedirectOutcome::unknown_flow), 1u);
    EXPECT_EQ(total.links_invalid, 1u);
    EXPECT_EQ(total.refreshes_succeeded, 5u);
    EXPECT_EQ(total.bot_messages_failed, 2u);
    EXPECT_EQ(total.sign_outs_total(), 2u);
    // The unattributed counts are no integration's.
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(counters.of(i).redirect(RedirectOutcome::unknown_flow), 0u);
}

TEST(ServiceCounters, AResizeKeepsTheCountsOfTheIntegrationsKept) {
    ServiceCounters counters(1);
    EXPECT_EQ(counters.integrations(), 1u);
    counters.of(0).flows_completed = 3;
    counters.resize(2);
    EXPECT_EQ(counters.integrations(), 2u);
    EXPECT_EQ(counters.of(0).flows_completed, 3u);
    EXPECT_EQ(counters.of(1).flows_completed, 0u);
    counters.resize(0);  // never less than the default's set
    EXPECT_EQ(counters.integrations(), 1u);
    EXPECT_EQ(counters.of(0).flows_completed, 3u);
}

TEST(ServiceCounters, AnIndexPastTheListCountsAsUnattributedNotOutOfBounds) {
    ServiceCounters counters(1);
    ++counters.of(7).flows_started;
    EXPECT_EQ(counters.unattributed().flows_started, 1u);
    EXPECT_EQ(counters.of(0).flows_started, 0u);
}

TEST(ServiceCounters, SignOutRevocationsNameTheRevocationOutcomes) {
    EXPECT_EQ(sign_out_revocation(RevocationOutcome::revoked), SignOutRevocation::revoked);
    EXPECT_EQ(sign_out_revocation(RevocationOutcome::not_supported), SignOutRevocation::not_supported);
    EXPECT_EQ(sign_out_revocation(RevocationOutcome::no_token), SignOutRevocation::no_token);
    EXPECT_EQ(sign_out_revocation(RevocationOutcome::failed), SignOutRevocation::failed);
    for (size_t i = 1; i < kSignOutRevocationCount; ++i) {
        const auto revocation = static_cast<SignOutRevocation>(i);
        EXPECT_EQ(to_string(revocation), to_string(static_cast<RevocationOutcome>(i - 1)));
    }
    EXPECT_EQ(to_string(SignOutRevocation::not_requested), "not_requested");
}

}  // namespace
}  // namespace tokend
