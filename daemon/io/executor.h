// Runs blocking work (store calls, file writes) on threads of our own and hands
// each result back to the event-loop thread. libuv's loop is not thread-safe:
// workers only push to a queue and wake the loop with uv_async_send (the one
// libuv call allowed from other threads), as h2o's multithread.c does. We do not
// use libuv's shared pool: its 4 threads also serve DNS and file I/O.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tokend {

class Executor {
public:
    // Starts `threads` workers; completions run on `loop`'s thread.
    Executor(uv_loop_t* loop, size_t threads);
    // Requires shutdown() to have completed (the async handle is closed then).
    ~Executor();
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    // Runs work() on a worker, then done(result) on the loop thread. Call from the
    // loop thread only. After shutdown() began, the work is refused: done is never
    // called and submit returns false.
    template <typename Result>
    bool submit(std::function<Result()> work, std::function<void(Result)> done) {
        auto result = std::make_shared<Result>();
        return post([work = std::move(work), result] { *result = work(); },
                    [done = std::move(done), result] { done(std::move(*result)); });
    }

    // Untyped form: work on a worker, then done on the loop thread.
    bool post(std::function<void()> work, std::function<void()> done);

    // Jobs submitted and not yet completed on the loop thread.
    size_t pending() const { return pending_; }

    // Stops taking work, lets queued and running jobs finish (their completions
    // still run on the loop), joins the workers, closes the async handle, then
    // calls on_closed on the loop thread. Call from the loop thread.
    void shutdown(std::function<void()> on_closed);

private:
    struct Job {
        std::function<void()> work;
        std::function<void()> done;
    };

    void worker_main();
    static void on_async(uv_async_t* handle);
    void drain_completions();
    void finish_shutdown_if_idle();

    uv_loop_t* loop_;
    uv_async_t wakeup_{};
    std::vector<std::thread> workers_;

    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::deque<Job> queue_;          // waiting for a worker
    std::deque<Job> completed_;      // waiting for the loop thread
    bool stopping_workers_ = false;  // workers exit once the queue is empty

    size_t pending_ = 0;  // loop thread only
    bool shutting_down_ = false;
    std::function<void()> on_closed_;
};

}  // namespace tokend
