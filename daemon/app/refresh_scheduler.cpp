#include "app/refresh_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace tokend {

RefreshScheduler::RefreshScheduler(const Clock& clock, TokenEndpointLimits limits,
                                   std::function<void(Id)> start_refresh, std::chrono::milliseconds heartbeat)
    : clock_(clock), gate_(limits, clock.now()), start_refresh_(std::move(start_refresh)), heartbeat_(heartbeat) {}

void RefreshScheduler::start(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    running_ = true;
    pump();
}

void RefreshScheduler::close(std::function<void()> closed) {
    if (!running_) {
        if (closed) closed();
        return;
    }
    running_ = false;
    uv_timer_stop(&timer_);
    auto* done = new std::function<void()>(std::move(closed));
    timer_.data = done;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* handle) {
        std::unique_ptr<std::function<void()>> callback(static_cast<std::function<void()>*>(handle->data));
        if (*callback) (*callback)();
    });
}

void RefreshScheduler::set(Id id, Timestamp deadline) {
    const auto before = schedule_.next();
    schedule_.set(id, deadline);
    // Only an earlier head changes when the timer must fire.
    if (running_ && (!before || deadline < *before)) pump();
}

void RefreshScheduler::cancel(Id id) {
    schedule_.erase(id);
    urgent_.erase(std::remove(urgent_.begin(), urgent_.end(), id), urgent_.end());
}

void RefreshScheduler::request_now(Id id) {
    schedule_.erase(id);
    if (std::find(urgent_.begin(), urgent_.end(), id) == urgent_.end()) urgent_.push_back(id);
    if (running_) pump();
}

void RefreshScheduler::finished() {
    gate_.finish();
    if (running_) pump();
}

void RefreshScheduler::pump() {
    if (pumping_) return;  // start_refresh may call back into set/finished
    pumping_ = true;
    for (;;) {
        const Timestamp now = clock_.now();
        std::optional<Id> next;
        if (!urgent_.empty()) {
            if (!gate_.try_start(now)) break;
            next = urgent_.front();
            urgent_.pop_front();
        } else {
            const auto head = schedule_.next();
            if (!head || *head > now || !gate_.try_start(now)) break;
            next = schedule_.pop_due(now);
        }
        start_refresh_(*next);
    }
    pumping_ = false;
    if (running_) arm(clock_.now());
}

void RefreshScheduler::arm(Timestamp now) {
    uv_timer_stop(&timer_);
    // `now` is a fresh reading: a deadline may have passed since pump() looked,
    // so "due" is decided again here, never taken from pump().
    const bool due = !urgent_.empty() || (schedule_.next() && *schedule_.next() <= now);
    Timestamp wake;
    if (due) {
        // Only a full gate waits without a timer: finished() pumps then.
        if (gate_.in_flight() >= gate_.limits().max_concurrent) return;
        wake = gate_.rate_ready_at(now).value_or(now);
    } else {
        wake = schedule_.next().value_or(now + heartbeat_);
    }
    const auto delay = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now),
                                  std::chrono::milliseconds{0}, heartbeat_);
    spdlog::trace("refresh scheduler: wake in {} ms ({} scheduled, {} waiting, {} in flight)", delay.count(),
                  schedule_.size(), urgent_.size(), gate_.in_flight());
    // +1 ms: libuv timers have millisecond resolution; never wake just before.
    uv_timer_start(&timer_, [](uv_timer_t* timer) { static_cast<RefreshScheduler*>(timer->data)->pump(); },
                   static_cast<uint64_t>(delay.count()) + (delay.count() > 0 ? 1 : 0), 0);
}

}  // namespace tokend
