// The timer queue, with time passed in: libuv's order (deadline, then the
// order set) and passes that run only what was set before they began.
#include "core/timer_queue.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(TimerQueue, TakesDueItemsByDeadlineThenByTheOrderSet) {
    TimerQueue<int> queue;
    queue.set(1, 30);
    queue.set(2, 10);
    queue.set(3, 10);
    queue.set(4, 50);
    EXPECT_EQ(queue.earliest(), 10u);
    const uint64_t mark = queue.pass_mark();
    EXPECT_EQ(queue.take_due(30, mark), 2);
    EXPECT_EQ(queue.take_due(30, mark), 3);
    EXPECT_EQ(queue.take_due(30, mark), 1);
    EXPECT_EQ(queue.take_due(30, mark), std::nullopt) << "4 is due at 50";
    EXPECT_EQ(queue.earliest(), 50u);
    EXPECT_EQ(queue.size(), 1u);
}

TEST(TimerQueue, SettingAgainMovesAnItemAndCancelRemovesIt) {
    TimerQueue<int> queue;
    queue.set(1, 10);
    queue.set(1, 40);
    EXPECT_EQ(queue.size(), 1u);
    EXPECT_EQ(queue.earliest(), 40u);
    EXPECT_TRUE(queue.cancel(1));
    EXPECT_FALSE(queue.cancel(1));
    EXPECT_FALSE(queue.contains(1));
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(queue.earliest(), std::nullopt);
}

TEST(TimerQueue, WhatIsSetDuringAPassWaitsForTheNext) {
    TimerQueue<int> queue;
    queue.set(1, 10);
    const uint64_t mark = queue.pass_mark();
    EXPECT_EQ(queue.take_due(10, mark), 1);
    queue.set(1, 10);  // set again at once, as a zero-delay timer from its own callback
    queue.set(2, 5);
    EXPECT_EQ(queue.take_due(10, mark), std::nullopt);
    EXPECT_EQ(queue.earliest(), 5u) << "both wait, due, for the next pass";
    const uint64_t next = queue.pass_mark();
    EXPECT_EQ(queue.take_due(10, next), 2);
    EXPECT_EQ(queue.take_due(10, next), 1);
}

TEST(TimerQueue, VisitsEveryItemEarliestFirst) {
    TimerQueue<int> queue;
    queue.set(7, 20);
    queue.set(8, 10);
    std::vector<std::pair<int, uint64_t>> seen;
    queue.for_each([&](int item, uint64_t deadline) { seen.emplace_back(item, deadline); });
    EXPECT_EQ(seen, (std::vector<std::pair<int, uint64_t>>{{8, 10}, {7, 20}}));
    queue.clear();
    EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace tokend
