#include "app/refresh_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tokend {

RefreshScheduler::RefreshScheduler(const Clock& clock, TokenEndpointLimits limits,
                                   std::function<void(Id)> start_refresh, std::chrono::milliseconds heartbeat)
    : clock_(clock), gate_(limits, clock.now()), start_refresh_(std::move(start_refresh)), heartbeat_(heartbeat) {}

void RefreshScheduler::start(uv_loop_t* loop) {
    loop_ = loop;
    timer_.open(loop);
    running_ = true;
    pump();
}

void RefreshScheduler::close(std::function<void()> closed) {
    running_ = false;
    timer_.close(std::move(closed));  // at once when it never opened
}

void RefreshScheduler::set(Id id, Timestamp deadline, RefreshSchedule::Group group) {
    const auto before = schedule_.next();
    schedule_.set(id, deadline, group);
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
    timer_.stop();
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
    timer_.start(loop_, delay + std::chrono::milliseconds(delay.count() > 0 ? 1 : 0), std::chrono::milliseconds(0),
                 [this] { pump(); });
}

}  // namespace tokend
