#include "io/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tokend {
namespace {

class ExecutorTest : public testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
    void TearDown() override { EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle leaked"; }
    uv_loop_t loop_{};
};

TEST_F(ExecutorTest, WorkRunsOffTheLoopAndCompletionsOnIt) {
    const auto loop_thread = std::this_thread::get_id();
    Executor executor(&loop_, 2);
    int completed = 0;
    std::atomic<int> off_loop{0};
    for (int i = 0; i < 100; ++i) {
        executor.submit<int>(
            [&, i] {
                if (std::this_thread::get_id() != loop_thread) ++off_loop;
                return i * 2;
            },
            [&, i](int result) {
                EXPECT_EQ(std::this_thread::get_id(), loop_thread);
                EXPECT_EQ(result, i * 2);
                if (++completed == 100) executor.shutdown(nullptr);
            });
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(completed, 100);
    EXPECT_EQ(off_loop.load(), 100);
    EXPECT_EQ(executor.pending(), 0u);
}

TEST_F(ExecutorTest, ShutdownFinishesQueuedWorkThenRefusesMore) {
    Executor executor(&loop_, 1);
    int completed = 0;
    bool closed = false;
    for (int i = 0; i < 20; ++i) {
        executor.post([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); },
                      [&] { ++completed; });
    }
    executor.shutdown([&] { closed = true; });
    EXPECT_FALSE(executor.post([] {}, [&] { ADD_FAILURE() << "ran after shutdown"; }));
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(completed, 20);
    EXPECT_TRUE(closed);
}

TEST_F(ExecutorTest, ShutdownWithNothingPendingClosesAtOnce) {
    Executor executor(&loop_, 4);
    bool closed = false;
    executor.shutdown([&] { closed = true; });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(closed);
}

TEST_F(ExecutorTest, CompletionsMaySubmitMoreWork) {
    Executor executor(&loop_, 2);
    int chain = 0;
    std::function<void()> step = [&] {
        executor.post([] {}, [&] {
            if (++chain < 50) {
                step();
            } else {
                executor.shutdown(nullptr);
            }
        });
    };
    step();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(chain, 50);
}

}  // namespace
}  // namespace tokend
