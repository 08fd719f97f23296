#include "app/refresh_scheduler.h"

#include <gtest/gtest.h>

#include <uv.h>

#include <vector>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp t0() { return Timestamp{sys_days{year{2026} / December / 1}}; }

// A loop, a clock the test moves, and the ids the scheduler started.
class SchedulerTest : public ::testing::Test {
protected:
    void SetUp() override { uv_loop_init(&loop_); }
    void TearDown() override {
        if (scheduler_) scheduler_->close(nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }

    void make(TokenEndpointLimits limits, milliseconds heartbeat = milliseconds(30000)) {
        scheduler_ = std::make_unique<RefreshScheduler>(clock_, limits, [this](uint32_t id) { started_.push_back(id); },
                                                        heartbeat);
    }

    // Runs the loop until `done` or a real-time limit.
    template <typename Done>
    void run_until(Done done, milliseconds limit = milliseconds(2000)) {
        const auto end = steady_clock::now() + limit;
        while (!done() && steady_clock::now() < end) uv_run(&loop_, UV_RUN_ONCE);
    }

    uv_loop_t loop_{};
    ManualClock clock_{t0()};
    std::unique_ptr<RefreshScheduler> scheduler_;
    std::vector<uint32_t> started_;
};

TEST_F(SchedulerTest, StartsWhatIsDueAtStartAndNothingEarly) {
    make({10, 0.0, 1.0});
    scheduler_->set(1, t0() - seconds(5), 0);
    scheduler_->set(2, t0() + hours(1), 0);
    EXPECT_TRUE(started_.empty());  // not running yet: only recorded
    scheduler_->start(&loop_);
    EXPECT_EQ(started_, std::vector<uint32_t>{1});
    EXPECT_EQ(*scheduler_->next_deadline(), t0() + hours(1));
}

// The wall clock jumps a day ahead (suspend/resume, a stepped clock) while the
// loop's own clock hardly moves: the heartbeat re-checks and starts the user.
TEST_F(SchedulerTest, AWallClockJumpIsNoticedAtTheNextHeartbeat) {
    make({10, 0.0, 1.0}, milliseconds(20));
    scheduler_->start(&loop_);
    scheduler_->set(7, t0() + hours(24), 0);
    clock_.advance(hours(25));
    run_until([&] { return !started_.empty(); });
    EXPECT_EQ(started_, std::vector<uint32_t>{7});
}

// A clock that moves on at every reading, so a deadline passes between the
// moment the scheduler decides nothing is due and the moment it arms its
// timer: it must not lose the wake-up then.
class SteppingClock final : public Clock {
public:
    Timestamp now() const override { return t0() + milliseconds(++reads_); }

private:
    mutable int64_t reads_ = 0;
};

TEST(SchedulerRaceTest, ADeadlinePassingWhileArmingIsNotLost) {
    for (int ahead = 1; ahead <= 8; ++ahead) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        SteppingClock clock;
        std::vector<uint32_t> started;
        RefreshScheduler scheduler(clock, {4, 0.0, 1.0}, [&](uint32_t id) { started.push_back(id); });
        scheduler.start(&loop);
        scheduler.set(1, clock.now() + milliseconds(ahead), 0);
        const auto end = steady_clock::now() + milliseconds(500);
        while (started.empty() && steady_clock::now() < end) uv_run(&loop, UV_RUN_NOWAIT);
        EXPECT_EQ(started, std::vector<uint32_t>{1}) << "deadline " << ahead << " readings ahead";
        scheduler.close(nullptr);
        uv_run(&loop, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop), 0);
    }
}

TEST_F(SchedulerTest, ConcurrencyCapHoldsUntilFinished) {
    make({2, 0.0, 1.0});
    for (uint32_t id = 0; id < 5; ++id) scheduler_->set(id, t0() - seconds(10 - id), 0);
    scheduler_->start(&loop_);
    EXPECT_EQ(started_, (std::vector<uint32_t>{0, 1}));
    scheduler_->finished();
    EXPECT_EQ(started_, (std::vector<uint32_t>{0, 1, 2}));
    scheduler_->finished();
    scheduler_->finished();
    EXPECT_EQ(started_, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
}

TEST_F(SchedulerTest, CallersWaitingGoFirst) {
    make({1, 0.0, 1.0});
    scheduler_->set(1, t0() - seconds(2), 0);
    scheduler_->set(2, t0() - seconds(1), 0);
    scheduler_->start(&loop_);
    EXPECT_EQ(started_, std::vector<uint32_t>{1});
    scheduler_->request_now(9);
    scheduler_->finished();
    EXPECT_EQ(started_, (std::vector<uint32_t>{1, 9}));
    scheduler_->cancel(2);
    scheduler_->finished();
    EXPECT_EQ(started_, (std::vector<uint32_t>{1, 9}));
}

TEST_F(SchedulerTest, RateLimitSpreadsStartsOverTime) {
    make({100, 1000.0, 1.0});  // one start per millisecond, no burst
    for (uint32_t id = 0; id < 3; ++id) scheduler_->set(id, t0() - seconds(1), 0);
    scheduler_->start(&loop_);
    EXPECT_EQ(started_.size(), 1u);
    clock_.advance(milliseconds(1));
    run_until([&] { return started_.size() == 2; });
    EXPECT_EQ(started_.size(), 2u);
    clock_.advance(milliseconds(1));
    run_until([&] { return started_.size() == 3; });
    EXPECT_EQ(started_.size(), 3u);
}

}  // namespace
}  // namespace tokend
