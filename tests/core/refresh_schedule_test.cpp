#include "core/refresh_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp t0() { return Timestamp{sys_days{year{2026} / December / 1}}; }

TEST(RefreshScheduleTest, EmptyHasNothingDue) {
    RefreshSchedule schedule;
    EXPECT_FALSE(schedule.next());
    EXPECT_FALSE(schedule.pop_due(t0()));
    schedule.erase(7);  // absent: no-op
    EXPECT_TRUE(schedule.empty());
}

TEST(RefreshScheduleTest, PopsInDeadlineOrderOnlyWhenDue) {
    RefreshSchedule schedule;
    schedule.set(3, t0() + seconds(30));
    schedule.set(1, t0() + seconds(10));
    schedule.set(2, t0() + seconds(20));
    EXPECT_EQ(*schedule.next(), t0() + seconds(10));
    EXPECT_FALSE(schedule.pop_due(t0() + seconds(9)));
    EXPECT_EQ(*schedule.pop_due(t0() + seconds(25)), 1u);
    EXPECT_EQ(*schedule.pop_due(t0() + seconds(25)), 2u);
    EXPECT_FALSE(schedule.pop_due(t0() + seconds(25)));
    EXPECT_EQ(schedule.size(), 1u);
}

TEST(RefreshScheduleTest, MovingAndErasingKeepTheOrder) {
    RefreshSchedule schedule;
    for (uint32_t id = 0; id < 10; ++id) schedule.set(id, t0() + seconds(id));
    schedule.set(9, t0() - seconds(1));  // earlier
    schedule.set(0, t0() + seconds(100));  // later
    schedule.erase(5);
    EXPECT_FALSE(schedule.contains(5));
    EXPECT_EQ(*schedule.deadline_of(0), t0() + seconds(100));
    std::vector<uint32_t> order;
    while (auto id = schedule.pop_due(t0() + seconds(1000))) order.push_back(*id);
    EXPECT_EQ(order, (std::vector<uint32_t>{9, 1, 2, 3, 4, 6, 7, 8, 0}));
}

// 100,000 users with random deadlines over 90 days, moved and cancelled at
// random, then the clock jumps ahead a day at a time: every user comes due
// exactly once, in order, never early, matching a simple model.
// Issue 17: the scheduled-refreshes gauge per integration, kept as entries
// come and go (set, move, erase, pop), without a walk over the heap.
TEST(RefreshScheduleTest, EachGroupIsCountedAsEntriesComeAndGo) {
    RefreshSchedule schedule;
    schedule.set(1, t0() + seconds(10), 0);
    schedule.set(2, t0() + seconds(20), 1);
    schedule.set(3, t0() + seconds(30), 1);
    EXPECT_EQ(schedule.size_of(0), 1u);
    EXPECT_EQ(schedule.size_of(1), 2u);
    EXPECT_EQ(schedule.size_of(5), 0u);
    schedule.set(3, t0() + seconds(5), 1);  // moved: still one entry
    EXPECT_EQ(schedule.size_of(1), 2u);
    EXPECT_EQ(*schedule.pop_due(t0() + seconds(6)), 3u);
    EXPECT_EQ(schedule.size_of(1), 1u);
    schedule.erase(1);
    EXPECT_EQ(schedule.size_of(0), 0u);
    schedule.erase(2);
    EXPECT_EQ(schedule.size_of(1), 0u);
    EXPECT_TRUE(schedule.empty());
}

TEST(RefreshScheduleTest, HundredThousandUsersAgainstAModel) {
    constexpr uint32_t kUsers = 100000;
    std::mt19937_64 random(42);
    std::uniform_int_distribution<int64_t> within_90_days(0, int64_t{90} * 86400 * 1000000);
    RefreshSchedule schedule;
    std::map<uint32_t, Timestamp> model;
    auto deadline = [&] { return t0() + microseconds(within_90_days(random)); };
    for (uint32_t id = 0; id < kUsers; ++id) {
        const Timestamp at = deadline();
        schedule.set(id, at);
        model[id] = at;
    }
    for (int change = 0; change < 50000; ++change) {
        const uint32_t id = static_cast<uint32_t>(random() % kUsers);
        if (change % 5 == 0) {
            schedule.erase(id);
            model.erase(id);
        } else {
            const Timestamp at = deadline();
            schedule.set(id, at);
            model[id] = at;
        }
    }
    ASSERT_EQ(schedule.size(), model.size());
    size_t popped = 0;
    Timestamp previous = Timestamp::min();
    for (Timestamp now = t0(); now <= t0() + hours(24 * 91); now += hours(24)) {
        while (auto id = schedule.pop_due(now)) {
            auto expected = model.find(*id);
            ASSERT_NE(expected, model.end()) << "popped an erased user";
            ASSERT_LE(expected->second, now) << "popped early";
            ASSERT_GE(expected->second, previous) << "out of order";
            previous = expected->second;
            model.erase(expected);
            ++popped;
        }
        if (auto next = schedule.next()) {
            ASSERT_GT(*next, now);
        }
    }
    EXPECT_TRUE(model.empty());
    EXPECT_TRUE(schedule.empty());
    EXPECT_GT(popped, kUsers / 2);
}

}  // namespace
}  // namespace tokend
