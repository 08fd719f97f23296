#include "io/loop_timers.h"

#include <spdlog/spdlog.h>

#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace tokend {
namespace {

// CLOCK_MONOTONIC in milliseconds: uv_hrtime's clock, and the timerfd's.
uint64_t now_ms() { return uv_hrtime() / 1000000; }

// Which loops have one. Not the loop's data pointer: uv_loop_init keeps
// whatever that held, so a loop declared without an initializer has garbage there.
std::mutex registry_mutex;
std::unordered_map<const uv_loop_t*, LoopTimers*> registry;
std::atomic<size_t> registered{0};  // none: no lock taken (loops of tests, tokenctl)

}  // namespace

struct LoopTimers::Watch {
    uv_poll_t poll{};
    int fd = -1;
};

LoopTimers::LoopTimers(uv_loop_t* loop) : loop_(loop) {
    if (of(loop) != nullptr) throw std::runtime_error("the event loop has its LoopTimers already");
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("timerfd_create: ") + std::strerror(errno));
    watch_ = new Watch;
    watch_->fd = fd;
    if (const int rc = uv_poll_init(loop, &watch_->poll, fd); rc != 0) {
        ::close(fd);
        delete watch_;
        watch_ = nullptr;
        throw std::runtime_error(std::string("uv_poll_init on a timerfd: ") + uv_strerror(rc));
    }
    watch_->poll.data = this;
    const std::lock_guard<std::mutex> lock(registry_mutex);
    registry[loop] = this;
    ++registered;
}

LoopTimers::~LoopTimers() { close(); }

LoopTimers* LoopTimers::of(const uv_loop_t* loop) {
    if (registered.load(std::memory_order_acquire) == 0) return nullptr;
    const std::lock_guard<std::mutex> lock(registry_mutex);
    const auto found = registry.find(loop);
    return found == registry.end() ? nullptr : found->second;
}

void LoopTimers::start(uv_timer_t* timer, uv_timer_cb fire, uint64_t timeout_ms, uint64_t repeat_ms) {
    entries_[timer] = Entry{fire, repeat_ms};
    queue_.set(timer, now_ms() + timeout_ms);
    rearm();
}

void LoopTimers::stop(uv_timer_t* timer) {
    if (!queue_.cancel(timer)) return;
    entries_.erase(timer);
    rearm();
}

void LoopTimers::close() {
    if (watch_ == nullptr) return;
    {
        const std::lock_guard<std::mutex> lock(registry_mutex);
        registry.erase(loop_);
        --registered;
    }
    // Whatever is still queued carries on with libuv, none the wiser.
    const uint64_t now = now_ms();
    queue_.for_each([&](uv_timer_t* timer, uint64_t deadline_ms) {
        const Entry& entry = entries_.at(timer);
        uv_timer_start(timer, entry.fire, deadline_ms > now ? deadline_ms - now : 0, entry.repeat_ms);
    });
    queue_.clear();
    entries_.clear();
    Watch* watch = watch_;
    watch_ = nullptr;
    watch->poll.data = watch;
    // uv_close stops the poll (the descriptor leaves epoll); the descriptor closes after.
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), [](uv_handle_t* handle) {
        auto* gone = static_cast<Watch*>(handle->data);
        ::close(gone->fd);
        delete gone;
    });
}

void LoopTimers::on_readable(uv_poll_t* poll, int status, int) {
    auto* self = static_cast<LoopTimers*>(poll->data);
    if (status < 0) return;  // a timerfd has no errors to report; the next rearm tries again
    self->run_due();
}

// As libuv's uv__run_timers: a repeating timer is set again before its
// callback runs (which may stop it); what is set during this pass waits.
void LoopTimers::run_due() {
    uint64_t expirations = 0;
    while (::read(watch_->fd, &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
    armed_ms_ = 0;  // fired, or re-armed since: either way set again below
    const uint64_t now = now_ms();
    const uint64_t mark = queue_.pass_mark();
    while (watch_ != nullptr) {
        const auto due = queue_.take_due(now, mark);
        if (!due) break;
        uv_timer_t* timer = *due;
        const auto found = entries_.find(timer);
        const Entry entry = found->second;
        if (entry.repeat_ms > 0) {
            queue_.set(timer, now + entry.repeat_ms);
        } else {
            entries_.erase(found);
        }
        entry.fire(timer);
    }
    if (watch_ != nullptr) rearm();
}

// The timerfd is armed no later than the earliest deadline, and re-armed
// only when that comes sooner: a deadline pushed back (a connection's timeout
// restarted by each request) costs no syscall, only, at worst, one early
// wake-up that finds nothing due and arms the timerfd again.
void LoopTimers::rearm() {
    if (watch_ == nullptr) return;
    const auto earliest = queue_.earliest();
    if (!earliest) {
        // Nothing queued: the watcher stops, so an otherwise finished loop can
        // end (an early expiry still pending is read, and ignored, when it restarts).
        if (polling_) uv_poll_stop(&watch_->poll);
        polling_ = false;
        return;
    }
    if (armed_ms_ == 0 || *earliest < armed_ms_) {
        // Absolute, so a deadline already past fires at once; never all zeros (that disarms).
        const uint64_t at_ms = *earliest > 0 ? *earliest : 1;
        itimerspec when{};
        when.it_value.tv_sec = static_cast<time_t>(at_ms / 1000);
        when.it_value.tv_nsec = static_cast<long>(at_ms % 1000) * 1000000L;
        if (::timerfd_settime(watch_->fd, TFD_TIMER_ABSTIME, &when, nullptr) != 0) {
            // Not expected (the arguments are valid); said loudly, since no timer would fire.
            spdlog::error("timers: timerfd_settime failed: {}", std::strerror(errno));
            return;
        }
        armed_ms_ = at_ms;
    }
    if (!polling_) {
        if (const int rc = uv_poll_start(&watch_->poll, UV_READABLE, &LoopTimers::on_readable); rc != 0) {
            spdlog::error("timers: cannot watch the timerfd: {}", uv_strerror(rc));
            return;
        }
        polling_ = true;
    }
}

void loop_timer_start(uv_timer_t* timer, uv_timer_cb fire, uint64_t timeout_ms, uint64_t repeat_ms) {
    if (LoopTimers* timers = LoopTimers::of(timer->loop)) {
        uv_timer_stop(timer);  // in case it ran on libuv before the LoopTimers opened
        timers->start(timer, fire, timeout_ms, repeat_ms);
    } else {
        uv_timer_start(timer, fire, timeout_ms, repeat_ms);
    }
}

void loop_timer_stop(uv_timer_t* timer) {
    if (LoopTimers* timers = LoopTimers::of(timer->loop)) timers->stop(timer);
    uv_timer_stop(timer);
}

}  // namespace tokend
