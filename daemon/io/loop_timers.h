// A loop's long-lived timers on one timerfd instead of libuv's timer heap.
// libuv gives epoll_wait its nearest timer as a timeout, and an epoll_wait
// that sleeps with a timeout arms and cancels a kernel hrtimer each time: on
// this machine 0.7 us of a pinned one-client get_token, 2 us in the bare
// epoll floor (docs/benchmarks.md). With its timers here, the loop has none of
// libuv's, epoll_wait sleeps without a timeout, and the timerfd is re-armed
// only when the earliest deadline comes sooner.
//
// A drop-in for uv_timer_start/uv_timer_stop on an initialized uv_timer_t:
// loop_timer_start() queues it here when its loop has a LoopTimers, and
// starts it on libuv otherwise (a bare test loop, or once the LoopTimers has
// closed). The handle stays its owner's, initialized and closed with libuv as
// before; its owner calls loop_timer_stop() before uv_close(). Loop thread only.
#pragma once

#include "core/timer_queue.h"

#include <uv.h>

#include <cstdint>
#include <unordered_map>

namespace tokend {

class LoopTimers {
public:
    // Registers itself as `loop`'s (until close); throws std::runtime_error
    // when the loop already has one or no timerfd can be made.
    explicit LoopTimers(uv_loop_t* loop);
    LoopTimers(const LoopTimers&) = delete;
    LoopTimers& operator=(const LoopTimers&) = delete;
    // Closes first when still open (the loop must run once more to free the watcher).
    ~LoopTimers();

    // The loop's, or null.
    static LoopTimers* of(const uv_loop_t* loop);

    // As uv_timer_start: `fire` runs `timeout_ms` from now, then every
    // `repeat_ms` (0: once); starting a queued timer again replaces it.
    void start(uv_timer_t* timer, uv_timer_cb fire, uint64_t timeout_ms, uint64_t repeat_ms);
    // As uv_timer_stop; nothing when it is not queued.
    void stop(uv_timer_t* timer);
    size_t queued() const { return queue_.size(); }

    // Hands every queued timer to libuv (the time it had left, its repeat),
    // unregisters from the loop and closes the timerfd. Not from a timer's callback.
    void close();

private:
    struct Entry {
        uv_timer_cb fire;
        uint64_t repeat_ms;
    };
    struct Watch;  // the timerfd and its uv_poll_t, freed in the poll's close callback

    static void on_readable(uv_poll_t* poll, int status, int events);
    void run_due();
    void rearm();

    uv_loop_t* loop_;
    Watch* watch_ = nullptr;
    bool polling_ = false;
    uint64_t armed_ms_ = 0;  // when the timerfd fires, at or before the earliest deadline; 0: not armed
    TimerQueue<uv_timer_t*> queue_;
    std::unordered_map<uv_timer_t*, Entry> entries_;
};

// uv_timer_start / uv_timer_stop, through the timer's loop's LoopTimers when it has one.
void loop_timer_start(uv_timer_t* timer, uv_timer_cb fire, uint64_t timeout_ms, uint64_t repeat_ms);
void loop_timer_stop(uv_timer_t* timer);

}  // namespace tokend
