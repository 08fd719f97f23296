// Drives the refresh schedule with one libuv timer and lets refreshes start
// only as fast as the token-endpoint gate allows. Users are small integer ids
// (the token service maps them to user ids). Callers that wait for a token go
// first (request_now), then whatever the schedule has due, earliest first.
// Loop thread only.
//
// The timer never sleeps longer than kHeartbeat: libuv's clock is monotonic and
// stops during suspend, and the wall clock may be stepped, so each wake-up
// re-checks the deadlines against the real (wall) clock.
#pragma once

#include "core/iso_time.h"
#include "core/refresh_schedule.h"
#include "core/token_endpoint_gate.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>

namespace tokend {

class RefreshScheduler {
public:
    using Id = RefreshSchedule::Id;
    static constexpr std::chrono::milliseconds kHeartbeat{30000};

    // `start_refresh(id)` is called when id may start; the refresh then holds a
    // gate slot until finished() is called.
    RefreshScheduler(const Clock& clock, TokenEndpointLimits limits, std::function<void(Id)> start_refresh,
                     std::chrono::milliseconds heartbeat = kHeartbeat);

    // Arms the timer; before this, set/request_now only record.
    void start(uv_loop_t* loop);
    // Stops starting refreshes and closes the timer; `closed` runs once it is.
    void close(std::function<void()> closed);

    // `group`: the user's integration (scheduled_of counts them).
    void set(Id id, Timestamp deadline, RefreshSchedule::Group group);
    void cancel(Id id);
    // A caller waits: start as soon as the gate allows, before scheduled ones.
    void request_now(Id id);
    // A refresh started by this scheduler ended; frees its gate slot.
    void finished();

    std::optional<Timestamp> deadline_of(Id id) const { return schedule_.deadline_of(id); }
    std::optional<Timestamp> next_deadline() const { return schedule_.next(); }
    size_t scheduled() const { return schedule_.size(); }
    size_t scheduled_of(RefreshSchedule::Group group) const { return schedule_.size_of(group); }
    size_t waiting_urgent() const { return urgent_.size(); }
    size_t in_flight() const { return gate_.in_flight(); }
    const TokenEndpointLimits& limits() const { return gate_.limits(); }

private:
    // Starts what may start now, then arms the timer for the next chance.
    void pump();
    void arm(Timestamp now);

    const Clock& clock_;
    TokenEndpointGate gate_;
    std::function<void(Id)> start_refresh_;
    RefreshSchedule schedule_;
    std::deque<Id> urgent_;
    std::chrono::milliseconds heartbeat_;
    uv_loop_t* loop_ = nullptr;
    UvTimer timer_;
    bool running_ = false;
    bool pumping_ = false;
};

}  // namespace tokend
