// The handle owners: every close callback runs, owners may go away while a
// close is pending, and uv_loop_close() proves nothing leaked.
#include "io/uv_handle.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <thread>

namespace tokend {
namespace {

using namespace std::chrono;

class UvHandleTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
    void TearDown() override {
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }
    uv_loop_t loop_{};
};

TEST_F(UvHandleTest, ATimerFiresRepeatsAndClosesFromItsOwnCallback) {
    UvTimer timer;
    EXPECT_FALSE(timer.is_open());
    int fired = 0;
    bool closed = false;
    timer.start(&loop_, milliseconds(1), milliseconds(1), [&] {
        if (++fired == 3) timer.close([&] { closed = true; });
    });
    EXPECT_TRUE(timer.is_open());
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(fired, 3);
    EXPECT_TRUE(closed);
    EXPECT_FALSE(timer.is_open());
}

TEST_F(UvHandleTest, AStoppedTimerDoesNotFireAndCanStartAgain) {
    UvTimer timer;
    int fired = 0;
    timer.start(&loop_, milliseconds(1), milliseconds(0), [&] { ++fired; });
    timer.stop();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(fired, 0);
    timer.start(&loop_, milliseconds(0), milliseconds(0), [&] { ++fired; });
    while (fired == 0) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_EQ(fired, 1);
    timer.close();
}

TEST_F(UvHandleTest, ClosingWhatIsNotOpenCallsBackAtOnce) {
    UvTimer timer;
    bool closed = false;
    timer.close([&] { closed = true; });
    EXPECT_TRUE(closed);
    timer.stop();  // nothing to stop: no crash
}

TEST_F(UvHandleTest, AnOwnerDestroyedWhileOpenOrClosingLeaksNothing) {
    bool closed = false;
    {
        UvTimer open;
        open.start(&loop_, hours(1), milliseconds(0), [] {});
        UvTimer closing;
        closing.start(&loop_, hours(1), milliseconds(0), [] {});
        closing.close([&] { closed = true; });
    }
    uv_run(&loop_, UV_RUN_DEFAULT);  // frees both blocks
    EXPECT_TRUE(closed);
}

TEST_F(UvHandleTest, AnAsyncWakesTheLoopFromAnotherThread) {
    UvAsync async;
    int woken = 0;
    async.open(&loop_, [&] {
        ++woken;
        async.close();
    });
    std::thread other([&] { async.send(); });
    other.join();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(woken, 1);
}

TEST_F(UvHandleTest, ASignalWatcherSeesItsSignal) {
    UvSignal signal;
    bool caught = false;
    signal.start(&loop_, SIGUSR2, [&] {
        caught = true;
        signal.close();
    });
    ::raise(SIGUSR2);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(caught);
}

}  // namespace
}  // namespace tokend
