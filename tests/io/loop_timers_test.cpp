// Timers on the timerfd: libuv's loop is left with no timeout of its own,
// timers run in libuv's order, a pass runs only what was set before it, and
// closing hands whatever is queued back to libuv. Real loops, real timerfds.
#include "io/loop_timers.h"

#include "io/uv_handle.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tokend {
namespace {

using namespace std::chrono;

class LoopTimersTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        timers_ = std::make_unique<LoopTimers>(&loop_);
    }
    void TearDown() override {
        timers_->close();
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle leaked";
    }
    // A raw uv_timer_t, as the control and HTTP connections keep theirs; `log` gets `name` when it fires.
    struct Raw {
        uv_timer_t handle{};
        std::string name;
        std::string* log = nullptr;
    };
    std::unique_ptr<Raw> raw(const std::string& name, std::string* log) {
        auto timer = std::make_unique<Raw>();
        uv_timer_init(&loop_, &timer->handle);
        timer->handle.data = timer.get();
        timer->name = name;
        timer->log = log;
        return timer;
    }
    static void log_fire(uv_timer_t* handle) {
        auto* timer = static_cast<Raw*>(handle->data);
        *timer->log += timer->name;
    }
    static void close_raw(Raw* timer) {
        loop_timer_stop(&timer->handle);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle), nullptr);
    }

    uv_loop_t loop_{};
    std::unique_ptr<LoopTimers> timers_;
};

TEST_F(LoopTimersTest, TheLoopSleepsWithoutATimeoutWhileTimersAreSet) {
    UvTimer far;
    far.start(&loop_, hours(1), milliseconds(0), [] {});
    EXPECT_EQ(timers_->queued(), 1u);
    uv_run(&loop_, UV_RUN_NOWAIT);  // a loop that never ran says 0, whatever it has
    EXPECT_EQ(uv_backend_timeout(&loop_), -1) << "libuv would give epoll_wait a timeout";
    // The same timer on a loop without LoopTimers is libuv's, with its timeout.
    uv_loop_t bare{};
    ASSERT_EQ(uv_loop_init(&bare), 0);
    UvTimer plain;
    plain.start(&bare, hours(1), milliseconds(0), [] {});
    uv_run(&bare, UV_RUN_NOWAIT);
    EXPECT_GT(uv_backend_timeout(&bare), 0);
    plain.close();
    uv_run(&bare, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&bare), 0);
    far.close();
    EXPECT_EQ(timers_->queued(), 0u);
}

TEST_F(LoopTimersTest, TimersRunInDeadlineOrderAndTiesInTheOrderSet) {
    std::string log;
    auto late = raw("late ", &log), first = raw("first ", &log), second = raw("second ", &log);
    loop_timer_start(&late->handle, log_fire, 30, 0);
    loop_timer_start(&first->handle, log_fire, 0, 0);
    loop_timer_start(&second->handle, log_fire, 0, 0);
    uv_run(&loop_, UV_RUN_DEFAULT);  // ends once nothing is set: the watcher stops with the queue empty
    EXPECT_EQ(log, "first second late ");
    for (Raw* timer : {late.get(), first.get(), second.get()}) close_raw(timer);
    uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(LoopTimersTest, StartingAgainReplacesAndStoppingCancels) {
    std::string log;
    auto moved = raw("moved ", &log), stopped = raw("stopped ", &log);
    loop_timer_start(&moved->handle, log_fire, 0, 0);
    loop_timer_start(&moved->handle, log_fire, 20, 0);
    loop_timer_start(&stopped->handle, log_fire, 10, 0);
    loop_timer_stop(&stopped->handle);
    loop_timer_stop(&stopped->handle);  // twice: nothing
    EXPECT_EQ(timers_->queued(), 1u);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(log, "moved ");
    close_raw(moved.get());
    close_raw(stopped.get());
    uv_run(&loop_, UV_RUN_DEFAULT);
}

// The timerfd stays armed for the first deadline (no syscall for a deadline
// pushed back): it wakes the loop early, and the timer waits for its own time.
TEST_F(LoopTimersTest, ADeadlinePushedBackIsNotRunEarly) {
    std::string log;
    auto timer = raw("fired ", &log);
    const uint64_t started = uv_hrtime();
    loop_timer_start(&timer->handle, log_fire, 5, 0);
    loop_timer_start(&timer->handle, log_fire, 60, 0);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(log, "fired ");
    // Deadlines are whole milliseconds (as libuv's): 60 ms is at least 59 of real time, far from 5.
    EXPECT_GE((uv_hrtime() - started) / 1000000, 59u);
    close_raw(timer.get());
}

TEST_F(LoopTimersTest, ARepeatingTimerRepeatsUntilItsCallbackClosesIt) {
    UvTimer timer;
    int fired = 0;
    bool closed = false;
    timer.start(&loop_, milliseconds(1), milliseconds(1), [&] {
        if (++fired == 3) timer.close([&] { closed = true; });
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(fired, 3);
    EXPECT_TRUE(closed);
    EXPECT_EQ(timers_->queued(), 0u);
}

TEST_F(LoopTimersTest, ATimerSetAgainFromItsCallbackWaitsForTheNextPass) {
    UvTimer timer;
    int fired = 0;
    std::function<void()> again = [&] {
        ++fired;
        timer.start(&loop_, milliseconds(0), milliseconds(0), again);
    };
    timer.start(&loop_, milliseconds(0), milliseconds(0), again);
    // Each turn of the loop runs it once: a pass that ran it again would never end.
    for (int turn = 0; turn < 5; ++turn) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_EQ(fired, 5);
    timer.close();
}

TEST_F(LoopTimersTest, AnOwnerGoneWhileItsTimerIsSetLeavesNothingQueued) {
    int fired = 0;
    {
        UvTimer gone;
        gone.start(&loop_, milliseconds(0), milliseconds(0), [&] { ++fired; });
        EXPECT_EQ(timers_->queued(), 1u);
    }
    EXPECT_EQ(timers_->queued(), 0u);
    UvTimer reopened;
    reopened.start(&loop_, hours(1), milliseconds(0), [&] { ++fired; });
    reopened.open(&loop_);  // a fresh handle: the old one leaves the queue before it closes
    EXPECT_EQ(timers_->queued(), 0u);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(fired, 0);
    reopened.close();
}

TEST_F(LoopTimersTest, ClosingHandsWhatIsQueuedToLibuv) {
    std::string log;
    auto timer = raw("fired ", &log);
    loop_timer_start(&timer->handle, log_fire, 20, 0);
    timers_->close();
    EXPECT_EQ(LoopTimers::of(&loop_), nullptr);
    EXPECT_EQ(timers_->queued(), 0u);
    EXPECT_NE(uv_is_active(reinterpret_cast<uv_handle_t*>(&timer->handle)), 0) << "libuv has it now";
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(log, "fired ");
    close_raw(timer.get());
}

TEST_F(LoopTimersTest, ALoopHasOneLoopTimers) {
    EXPECT_EQ(LoopTimers::of(&loop_), timers_.get());
    EXPECT_THROW(LoopTimers second(&loop_), std::runtime_error);
    EXPECT_EQ(LoopTimers::of(&loop_), timers_.get());
}

}  // namespace
}  // namespace tokend
