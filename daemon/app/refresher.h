// The edge of core/refresh_attempt: runs each step a RefreshAttempt returns
// (the lease and the write on the executor, the token request through the
// outbound sender) and feeds the result back, then carries out the attempt's
// ending on the cache, the schedule, the counters and the callers waiting.
// One attempt per user at a time (single flight): callers who need a token
// join the one in flight or queue one ahead of the schedule; the scheduler
// starts attempts within the token-endpoint limits. Loop thread only.
#pragma once

#include "app/context_cache.h"
#include "app/outbound_sender.h"
#include "app/refresh_scheduler.h"
#include "app/service_runtime.h"
#include "core/integrations.h"
#include "core/refresh_attempt.h"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tokend {

class Refresher {
public:
    using Waiter = std::function<void(const RefreshResult&)>;

    // `integrations` (with their client secrets) are read at each attempt, so a
    // reload applies to the next one; a user key's integration refreshes it. `tell_reauth(user_id)` runs once per grant
    // found dead. `write_in_flight(user_id)` says whether a set_user_context
    // of the user is being stored: a refresh that comes due meanwhile waits
    // for it (resume_after_write starts it).
    Refresher(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler, OutboundSender& outbound,
              const IntegrationSet& integrations, std::function<void(const std::string&)> tell_reauth,
              std::function<bool(const std::string&)> write_in_flight);

    // A caller needs a refresh now: join the one in flight or queue one ahead
    // of the schedule. `waiter` hears how it ended.
    void want(const std::string& user_id, Waiter waiter);
    // The scheduler gave schedule id `id` a token-endpoint slot.
    void run(uint32_t id);
    // Whether a refresh of this user is queued or running.
    bool wanted(const std::string& user_id) const { return refreshing_.count(user_id) > 0; }
    // If a refresh of this user is running, `then` runs once it has ended,
    // however it ended (its tokens, if any, in the cache), and true is
    // returned; else nothing happens. Writes and clears join the single
    // flight so, one queue in arrival order: a write is decided against what
    // the refresh got, and a clear clears, and a sign-out revokes, it (with
    // rotating refresh tokens the spent one is worth nothing, the new one
    // everything).
    bool after_attempt(const std::string& user_id, std::function<void()> then);
    // A write of the user ended: a refresh that came due or was asked for
    // while it was stored goes now, from the written tokens.
    void resume_after_write(const std::string& user_id);

    // A discovery document was filled in: users whose refresh came due while
    // their integration awaited it are put back on the schedule (a due one
    // goes at once: no failure was counted, so no backoff).
    void resume_discovered();

    // The cache took another process's write (stored; nullptr: a clear).
    void on_store_change(const std::string& user_id, const UserContext* stored);
    // The user's context was cleared here: callers waiting for a refresh not yet running hear so.
    void on_cleared(const std::string& user_id);
    // Shutting down: refreshes not yet started will not be; their callers hear so now.
    void drop_waiting();

private:
    struct Attempt;
    void park_undiscovered(const std::string& user_id);
    void drive(std::shared_ptr<Attempt> attempt, RefreshAttempt::Step step);
    void lease(std::shared_ptr<Attempt> attempt, std::chrono::milliseconds ttl);
    void write(std::shared_ptr<Attempt> attempt, RefreshAttempt::Step step);
    void end(std::shared_ptr<Attempt> attempt, const RefreshAttempt::Step& step);
    CachedUser cached_user(const std::string& user_id) const;
    void complete(const std::string& user_id, const RefreshResult& result);

    struct Refresh {
        std::vector<Waiter> waiters;
        std::vector<std::function<void()>> after_attempt;  // run when the running attempt ends
        bool running = false;  // holds a gate slot
    };

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    mutable UserContext current_;  // cached_user()'s unpacked context, read by the attempt at once
    RefreshScheduler& scheduler_;
    OutboundSender& outbound_;
    const IntegrationSet& integrations_;
    std::function<void(const std::string&)> tell_reauth_;
    std::function<bool(const std::string&)> write_in_flight_;
    std::unordered_set<std::string> deferred_;  // refreshes that came due during a write
    std::unordered_set<std::string> undiscovered_;  // came due while their integration awaited its document
    std::unordered_map<std::string, Refresh> refreshing_;  // single flight per user
};

}  // namespace tokend
