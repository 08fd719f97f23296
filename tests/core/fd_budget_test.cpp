#include "core/fd_budget.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(FdBudget, RaisesTheSoftLimitToTheHardOneAndKeepsCapsThatFit) {
    const FdBudget budget = plan_fd_budget({1024, 65536, 100, 1024, 1024});
    EXPECT_EQ(budget.soft, 65536u);
    EXPECT_EQ(budget.http_connections, 1024u);
    EXPECT_EQ(budget.control_connections, 1024u);
    EXPECT_FALSE(budget.clamped);
}

TEST(FdBudget, ExactFitIsNotClamped) {
    const FdBudget budget = plan_fd_budget({256, 256, 56, 100, 100});
    EXPECT_EQ(budget.soft, 256u);
    EXPECT_FALSE(budget.clamped);
    EXPECT_EQ(budget.http_connections + budget.control_connections, 200u);
}

TEST(FdBudget, ClampsBothCapsInProportionWhenTheyDoNotFit) {
    // ulimit -n 1024 with the default caps: 1,100 HTTP connections starved the store.
    const FdBudget budget = plan_fd_budget({1024, 1024, 124, 1024, 1024});
    EXPECT_TRUE(budget.clamped);
    EXPECT_EQ(budget.soft, 1024u);
    EXPECT_EQ(budget.http_connections, 450u);
    EXPECT_EQ(budget.control_connections, 450u);
    EXPECT_LE(budget.http_connections + budget.control_connections + 124, budget.soft);

    const FdBudget lopsided = plan_fd_budget({256, 256, 96, 1000, 100});
    EXPECT_TRUE(lopsided.clamped);
    EXPECT_EQ(lopsided.http_connections, 145u);
    EXPECT_EQ(lopsided.control_connections, 15u);
}

TEST(FdBudget, NoRoomAtAllStillLeavesOneConnectionEach) {
    const FdBudget budget = plan_fd_budget({32, 32, 100, 1024, 1024});
    EXPECT_TRUE(budget.clamped);
    EXPECT_EQ(budget.http_connections, 1u);
    EXPECT_EQ(budget.control_connections, 1u);
}

TEST(FdBudget, UnlimitedHardLimitIsRaisedToNrOpen) {
    const FdBudget budget = plan_fd_budget({1024, kFdUnlimited, 100, 1024, 1024});
    EXPECT_EQ(budget.soft, kFdUnlimitedTarget);
    EXPECT_FALSE(budget.clamped);
    // A soft limit already above that is kept.
    EXPECT_EQ(plan_fd_budget({2u << 20, kFdUnlimited, 100, 1, 1}).soft, 2u << 20);
}

TEST(FdBudget, ReserveGrowsWithTheProviderMetricsAndStoreConnections) {
    EXPECT_EQ(fd_reserve(0, 0, 0), 64u);
    EXPECT_EQ(fd_reserve(16, 16, 2), 64u + 16 + 16 + 8);
}

}  // namespace
}  // namespace tokend
