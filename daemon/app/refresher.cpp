// With a store that has the lock capability (shared by several processes) an
// attempt holds the user's lease from before it reads the stored tokens until
// after it wrote the new ones, and writes with the lease's fencing token. The
// new tokens are stored before anyone receives them.
#include "app/refresher.h"

#include "app/random_source.h"

#include <spdlog/spdlog.h>

namespace tokend {
namespace {

std::string describe_deadline(std::optional<Timestamp> at) { return at ? format_iso8601(*at) : "none"; }

void log_note(const std::string& user_id, const LogNote& note) {
    switch (note.level) {
        case LogNote::Level::debug: spdlog::debug("user {}: {}", user_id, note.text); break;
        case LogNote::Level::info: spdlog::info("user {}: {}", user_id, note.text); break;
        case LogNote::Level::warn: spdlog::warn("user {}: {}", user_id, note.text); break;
        case LogNote::Level::error: spdlog::error("user {}: {}", user_id, note.text); break;
    }
}

}  // namespace

struct Refresher::Attempt {
    Attempt(const OAuthSettings& oauth, const RefreshPolicy& policy, std::chrono::milliseconds timeout,
            std::string user)
        : machine(oauth, policy, timeout, random_fraction()), user_id(std::move(user)) {}
    RefreshAttempt machine;
    std::string user_id;
};

Refresher::Refresher(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler,
                     OutboundSender& outbound, const IntegrationSet& integrations,
                     std::function<void(const std::string&)> tell_reauth,
                     std::function<bool(const std::string&)> write_in_flight)
    : runtime_(runtime),
      cache_(cache),
      scheduler_(scheduler),
      outbound_(outbound),
      integrations_(integrations),
      tell_reauth_(std::move(tell_reauth)),
      write_in_flight_(std::move(write_in_flight)) {}

void Refresher::want(const std::string& user_id, Waiter waiter) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        waiter({RefreshStatus::not_found, "no user context for user " + user_id});
        return;
    }
    if (runtime_.draining()) {
        waiter({RefreshStatus::provider_error, "tokend is shutting down"});
        return;
    }
    Refresh& refresh = refreshing_[user_id];
    refresh.waiters.push_back(std::move(waiter));
    if (!refresh.running) scheduler_.request_now(cached->id);
}

bool Refresher::after_attempt(const std::string& user_id, std::function<void()> then) {
    auto refresh = refreshing_.find(user_id);
    if (refresh == refreshing_.end() || !refresh->second.running) return false;
    refresh->second.after_attempt.push_back(std::move(then));
    return true;
}

void Refresher::resume_after_write(const std::string& user_id) {
    if (deferred_.erase(user_id) == 0) return;
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) return;
    cache_.reschedule(*cached);
    auto refresh = refreshing_.find(user_id);
    if (refresh != refreshing_.end() && !refresh->second.running) scheduler_.request_now(cached->id);
}

// The oidc preset without its document: no attempt at all (no lease, no read,
// no request, not even to a configured token_service, whose client
// authentication the document decides), so nothing counts as a failure nor
// builds backoff. The user waits off the schedule until resume_discovered.
void Refresher::park_undiscovered(const std::string& user_id) {
    if (undiscovered_.insert(user_id).second) {
        spdlog::info("user {}: refresh waits for the provider's OpenID Connect discovery document", user_id);
    }
    complete(user_id, {RefreshStatus::provider_unavailable,
                       "the provider's OpenID Connect discovery document is not read yet; try again later"});
}

void Refresher::resume_discovered() {
    std::vector<std::string> ready;
    for (const std::string& user_id : undiscovered_) {
        if (!integrations_.owner_of(user_id).integration->awaiting_discovery) ready.push_back(user_id);
    }
    for (const std::string& user_id : ready) {
        undiscovered_.erase(user_id);
        const ContextCache::Cached* cached = cache_.find(user_id);
        if (cached == nullptr) continue;  // cleared meanwhile
        cache_.reschedule(*cached);  // its own deadline: a due one goes now
    }
}

CachedUser Refresher::cached_user(const std::string& user_id) const {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) return CachedUser{};
    current_ = cache_.context_of(*cached);  // the attempt reads it before anything changes the cache
    return CachedUser{&current_, cached->failures};
}

void Refresher::run(uint32_t id) {
    const std::optional<std::string> user = cache_.user_of(id);
    if (!user || runtime_.draining()) {
        scheduler_.finished();
        return;
    }
    if (write_in_flight_(*user)) {  // rescheduled after the write (resume_after_write)
        deferred_.insert(*user);
        spdlog::debug("user {}: refresh waits for the context write in flight", *user);
        scheduler_.finished();
        return;
    }
    const Integration& integration = *integrations_.owner_of(*user).integration;
    if (integration.awaiting_discovery) {  // before any lease or read: see park_undiscovered
        park_undiscovered(*user);
        scheduler_.finished();
        return;
    }
    const Config& config = runtime_.config();
    auto attempt = std::make_shared<Attempt>(integration.oauth, config.refresh.policy, integration.request_timeout, *user);
    spdlog::debug("user {}: refresh attempt starting", attempt->user_id);
    refreshing_[attempt->user_id].running = true;
    runtime_.track(+1);
    const ContextCache::Cached* cached = cache_.find(attempt->user_id);
    drive(attempt, attempt->machine.begin(cached_user(attempt->user_id), cached->unsaved.get(),
                                          integration.configured, runtime_.store().can_lock(), runtime_.now()));
}

void Refresher::drive(std::shared_ptr<Attempt> attempt, RefreshAttempt::Step step) {
    for (const LogNote& note : step.notes) log_note(attempt->user_id, note);
    using Kind = RefreshAttempt::Step::Kind;
    switch (step.kind) {
        case Kind::lease:
            lease(std::move(attempt), step.lease_ttl);
            return;
        case Kind::http:
            step.http.integration = integrations_.owner_of(attempt->user_id).integration->name;
            outbound_.send(step.http, [this, attempt](OutboundResult result) {
                drive(attempt, attempt->machine.on_http_response(result.status, result.body, result.retry_after,
                                                                 result.error, cached_user(attempt->user_id),
                                                                 runtime_.now()));
            });
            return;
        case Kind::write:
            write(std::move(attempt), std::move(step));
            return;
        case Kind::finish:
            end(std::move(attempt), step);
            return;
    }
}

void Refresher::lease(std::shared_ptr<Attempt> attempt, std::chrono::milliseconds ttl) {
    struct Leased {
        StoreStatus status;  // the first call that failed, else the read's
        LeasedRead read;
    };
    runtime_.on_store<Leased>(
        [this, user_id = attempt->user_id, ttl] {
            Store& store = runtime_.store();
            Leased leased;
            const StoreStatus lock = store.lock_acquire(Ns::user, user_id, ttl, &leased.read.fence);
            leased.status = lock;
            if (lock.code == StoreCode::conflict) {
                leased.read.result = LeasedRead::Result::busy;
            } else if (!lock.ok()) {
                leased.read.result = LeasedRead::Result::failed;
            } else {
                leased.status = store.get(Ns::user, user_id, &leased.read.text);
                auto opened = leased.status.ok()
                                  ? runtime_.cipher().open(RecordKind::user_context, user_id, leased.read.text)
                                  : Result<std::string>(std::string());
                if (!opened) {
                    // Never refreshed from (nor written over): reported like a failed read.
                    store.lock_release(Ns::user, user_id, leased.read.fence);
                    leased.status = StoreStatus{StoreCode::invalid, "the stored context cannot be decrypted: " +
                                                                      opened.error()};
                    leased.read.result = LeasedRead::Result::failed;
                } else if (leased.status.ok()) {
                    leased.read.text = std::move(opened).value();
                    leased.read.result = LeasedRead::Result::read;
                } else {
                    store.lock_release(Ns::user, user_id, leased.read.fence);
                    leased.read.result =
                        leased.status.not_found() ? LeasedRead::Result::absent : LeasedRead::Result::failed;
                }
            }
            if (leased.read.result == LeasedRead::Result::failed) leased.read.detail = leased.status.describe();
            return leased;
        },
        [this, attempt](Leased leased) {
            drive(attempt, attempt->machine.on_leased(leased.read, cached_user(attempt->user_id), runtime_.now()));
        });
}

// Re-reads, compares (core: stored_moved_on) and writes in one store visit,
// then releases the lease. The write is a compare-and-put against the bytes
// just read (one atomic step where the plugin can: store ABI 1.2), so a plain
// write by a writer that takes no lease (the Python module) landing after the
// read is never overwritten: it is compared again, and adopted if it holds
// other tokens. A context that keeps changing under us is a failed write
// (the tokens are kept unsaved and the write retried later).
void Refresher::write(std::shared_ptr<Attempt> attempt, RefreshAttempt::Step step) {
    struct Written {
        StoreStatus status;
        WriteResult result;
    };
    using Kind = WriteResult::Written;
    auto text = runtime_.cipher().seal(step.context);
    runtime_.on_store<Written>(
        [this, user_id = attempt->user_id, base = std::move(step.base), own = std::move(step.own),
         text = std::move(text), fenced = step.fenced, fence = step.fence] {
            constexpr int kCompareRounds = 5;
            Store& store = runtime_.store();
            Written written;
            // `current` stays the raw stored bytes: put_if_equal compares them
            // (re-sealing never reproduces them: a fresh nonce per write).
            std::string current;
            written.status = store.get(Ns::user, user_id, &current);
            for (int round = 1; written.status.ok(); ++round) {
                auto opened = runtime_.cipher().open(RecordKind::user_context, user_id, current);
                if (!opened) {
                    written.status = StoreStatus{StoreCode::invalid,
                                                 "the stored context cannot be decrypted: " + opened.error()};
                    written.result.written = Kind::failed;
                    break;
                }
                if (auto moved_on = stored_moved_on(base, *opened, own ? &*own : nullptr)) {
                    written.result.written = Kind::moved_on;
                    written.result.stored = std::move(moved_on);
                    break;
                }
                std::string now_stored;
                bool changed = false;
                written.status = store.put_if_equal(Ns::user, user_id, current, text,
                                                    fenced ? std::optional<uint64_t>(fence) : std::nullopt,
                                                    &now_stored, &changed);
                if (written.status.ok()) {
                    written.result.written = Kind::stored;
                } else if (changed && round < kCompareRounds) {
                    spdlog::debug("user {}: the stored context changed while the refresh was written; comparing again",
                                  user_id);
                    current = std::move(now_stored);
                    written.status = StoreStatus::success();
                    continue;
                } else if (changed) {
                    written.status.message = "the stored context kept changing while it was written";
                    written.result.written = Kind::failed;
                } else if (written.status.code == StoreCode::conflict) {
                    written.result.written = Kind::fenced_out;
                }
                break;
            }
            if (written.status.not_found()) written.result.written = Kind::absent;
            if (written.result.written == Kind::failed) written.result.detail = written.status.describe();
            if (fenced) store.lock_release(Ns::user, user_id, fence);
            return written;
        },
        [this, attempt](Written written) {
            drive(attempt, attempt->machine.on_written(written.result, cached_user(attempt->user_id), runtime_.now()));
        });
}

// The attempt's ending, carried out: cache and schedule first, then counters,
// events and messages, then the callers waiting, and last the gate slot.
void Refresher::end(std::shared_ptr<Attempt> attempt, const RefreshAttempt::Step& step) {
    const std::string& user_id = attempt->user_id;
    IntegrationCounters& counters = runtime_.counters_of(user_id);
    if (step.remember) cache_.remember(*step.remember, runtime_.now());
    if (step.reload) cache_.reload(user_id);
    ContextCache::Cached* cached = cache_.find(user_id);
    if (cached != nullptr) {
        if (step.unsaved) {
            cached->unsaved = std::make_unique<UnsavedTokens>(*step.unsaved);
            ++counters.refresh_store_failures;
        }
        if (step.retry_scheduled) {
            cached->failures = step.failures;
            ++counters.refreshes_retried;
        }
        if (step.try_again_in) {
            scheduler_.set(cached->id, runtime_.now() + *step.try_again_in, cache_.group_of(user_id));
        }
        if (step.unschedule) scheduler_.cancel(cached->id);
    }
    switch (step.ending) {
        case RefreshEnding::refreshed:
            ++counters.refreshes_succeeded;
            spdlog::info("user {}: token refreshed, valid until {}; next refresh {}", user_id,
                         describe_deadline(attempt->machine.updated().tokens.expires_at),
                         describe_deadline(cached ? scheduler_.deadline_of(cached->id) : std::nullopt));
            runtime_.publish("token_refreshed", user_id);
            break;
        case RefreshEnding::adopted:
            ++counters.refreshes_adopted;
            break;
        case RefreshEnding::reauth:
            ++counters.reauth_required;
            runtime_.publish("reauth_required", user_id);
            tell_reauth_(user_id);
            break;
        case RefreshEnding::retry:
        case RefreshEnding::store_failed:
            ++counters.refreshes_failed;
            break;
        case RefreshEnding::gone:
            cache_.forget(user_id);
            break;
        case RefreshEnding::lease_busy:
        case RefreshEnding::unconfigured:
            break;
    }
    auto refresh = refreshing_.find(user_id);
    std::vector<std::function<void()>> after_attempt;
    if (refresh != refreshing_.end()) {
        refresh->second.running = false;
        after_attempt = std::move(refresh->second.after_attempt);
    }
    if (!step.waiters_keep_waiting) {
        complete(user_id, step.result);
    } else if (refresh != refreshing_.end() && refresh->second.waiters.empty()) {
        refreshing_.erase(refresh);
    }
    // Whoever waited for the attempt to end (a clear), before a next refresh can start.
    for (auto& then : after_attempt) then();
    // Last: freeing the slot may start the next refresh (even this user's).
    scheduler_.finished();
    runtime_.track(-1);
}

void Refresher::complete(const std::string& user_id, const RefreshResult& result) {
    auto node = refreshing_.extract(user_id);
    if (node.empty()) return;
    for (auto& waiter : node.mapped().waiters) waiter(result);
}

void Refresher::on_store_change(const std::string& user_id, const UserContext* stored) {
    auto waiting = refreshing_.find(user_id);
    if (waiting == refreshing_.end() || waiting->second.running) return;
    if (stored == nullptr) {
        complete(user_id, {RefreshStatus::not_found, "user context was cleared"});
        return;
    }
    // A refresh waiting for another process's lease: that process's result
    // has arrived.
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached != nullptr &&
        usable_without_refresh(stored->tokens, runtime_.now(), runtime_.config().refresh.policy)) {
        ++runtime_.counters_of(user_id).refreshes_adopted;
        scheduler_.cancel(cached->id);
        cache_.reschedule(*cached);
        complete(user_id, {RefreshStatus::refreshed, ""});
    }
}

void Refresher::on_cleared(const std::string& user_id) {
    auto waiting = refreshing_.find(user_id);
    if (waiting != refreshing_.end() && !waiting->second.running) {
        complete(user_id, {RefreshStatus::not_found, "user context was cleared"});
    }
}

void Refresher::drop_waiting() {
    std::vector<std::string> waiting;
    for (const auto& [user_id, refresh] : refreshing_) {
        if (!refresh.running) waiting.push_back(user_id);
    }
    for (const std::string& user_id : waiting) complete(user_id, {RefreshStatus::provider_error, "tokend is shutting down"});
}

}  // namespace tokend
