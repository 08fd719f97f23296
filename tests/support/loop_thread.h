// Runs a libuv loop on a thread of its own so a test can act as a blocking
// client on the main thread. Work for the loop is posted through uv_async (the
// only thread-safe libuv call). stop() closes what run_on_loop set up and checks
// that no handle leaked.
#pragma once

#include <uv.h>

#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace tokend::test {

class LoopThread {
public:
    LoopThread();
    ~LoopThread();  // stops if still running

    uv_loop_t* loop() { return &loop_; }
    // Starts the thread; call after setting up handles on loop() from this thread.
    void start();
    // Runs fn on the loop thread and waits for it to return.
    void run_on_loop(std::function<void()> fn);
    // Runs shutdown(done) on the loop thread; waits until done() was called and
    // the loop ended. Returns uv_loop_close()'s result (0: no handle leaked).
    int stop(std::function<void(std::function<void()> done)> shutdown);

private:
    static void on_async(uv_async_t* handle);

    uv_loop_t loop_{};
    uv_async_t wakeup_{};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::function<void()>> queue_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace tokend::test
