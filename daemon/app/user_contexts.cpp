#include "app/user_contexts.h"

#include "core/flow_start.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace tokend {
namespace {

constexpr uint32_t kDefaultListLimit = 100;
// A write's lease on a shared store (the one refreshes take) and how long it
// waits for another process's: about 5 s.
constexpr std::chrono::milliseconds kWriteLease{10000};
constexpr std::chrono::milliseconds kLeaseWait{50};
constexpr int kLeaseTries = 100;
constexpr uint32_t kMaxListLimit = 1000;

template <typename T>
OpResult<T> store_failure(const StoreStatus& status) {
    return OpResult<T>::failure(ErrorCode::store_unavailable, "store: " + status.describe());
}

}  // namespace

UserContexts::UserContexts(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler,
                           Refresher& refresher)
    : runtime_(runtime), cache_(cache), scheduler_(scheduler), refresher_(refresher) {}

bool UserContexts::backing_off(const ContextCache::Cached& cached, Timestamp now) const {
    const auto next_try = scheduler_.deadline_of(cached.id);
    return cached.failures > 0 && next_try && *next_try > now;
}

std::optional<TokenAnswer> UserContexts::token_now(std::string_view user_id) const {
    const ContextCache::Cached* cached = cache_.find(user_id);
    // The times read in place: nothing unpacked on the hot path.
    if (cached == nullptr || !usable_without_refresh(cached->context.times(), runtime_.now(),
                                                     runtime_.config().refresh.policy)) {
        return std::nullopt;
    }
    return answer_of(*cached);
}

void UserContexts::get_token(std::string_view user_id, OpCallback<TokenAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, "no user context for user " + std::string(user_id)));
        return;
    }
    const TokenTimes tokens = cached->context.times();
    const Timestamp now = runtime_.now();
    if (usable_without_refresh(tokens, now, runtime_.config().refresh.policy)) {
        answer_token(*cached, done);  // what token_now answers
        return;
    }
    if (!tokens.refresh_token) {
        if (still_valid(tokens, now)) {
            answer_token(*cached, done);
        } else {
            done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, "user " + std::string(user_id) + " must authorize again"));
        }
        return;
    }
    // Refreshes are failing and the next try is scheduled: no extra attempt per
    // read (the backoff protects the provider); the current token while it lasts.
    if (backing_off(*cached, now) && !refresher_.wanted(std::string(user_id))) {
        if (still_valid(tokens, now)) {
            answer_token(*cached, done);
        } else {
            done(OpResult<TokenAnswer>::failure(
                ErrorCode::provider_error, "refreshing the token of user " + std::string(user_id) +
                                               " keeps failing; next attempt at " +
                                               format_iso8601(*scheduler_.deadline_of(cached->id))));
        }
        return;
    }
    std::string user(user_id);
    refresher_.want(user, [this, user, done = std::move(done)](const RefreshResult& result) {
        answer_after_refresh(user, result, false, done);
    });
}

void UserContexts::refresh(const std::string& user_id, OpCallback<TokenAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, "no user context for user " + user_id));
        return;
    }
    if (!cached->context.times().refresh_token) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, "user " + user_id + " has no refresh token"));
        return;
    }
    refresher_.want(user_id, [this, user_id, done = std::move(done)](const RefreshResult& result) {
        answer_after_refresh(user_id, result, true, done);
    });
}

// strict: report a failed refresh even when the current token still works (the
// explicit refresh operation).
void UserContexts::answer_after_refresh(const std::string& user_id, const RefreshResult& result, bool strict,
                                        const OpCallback<TokenAnswer>& done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    const bool valid = cached != nullptr && still_valid(cached->context.times(), runtime_.now());
    switch (result.status) {
        case RefreshStatus::refreshed:
            if (valid) {
                answer_token(*cached, done);
            } else {
                done(OpResult<TokenAnswer>::failure(ErrorCode::provider_error, "the refreshed token is already expired"));
            }
            return;
        case RefreshStatus::reauth_required:
            done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, result.message));
            return;
        case RefreshStatus::not_found:
            done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, result.message));
            return;
        case RefreshStatus::provider_error:
        case RefreshStatus::provider_unavailable:
        case RefreshStatus::store_failed:
            // A passing failure: the current token still works, so hand it out.
            if (valid && !strict) {
                answer_token(*cached, done);
                return;
            }
            done(OpResult<TokenAnswer>::failure(result.status == RefreshStatus::store_failed ? ErrorCode::store_unavailable
                                                : result.status == RefreshStatus::provider_unavailable
                                                    ? ErrorCode::provider_unavailable
                                                    : ErrorCode::provider_error,
                                                result.message));
            return;
    }
}

TokenAnswer UserContexts::answer_of(const ContextCache::Cached& cached) {
    return {cached.context.user_id(), SecretView(*cached.context.access_token()), cached.context.times().expires_at};
}

void UserContexts::answer_token(const ContextCache::Cached& cached, const OpCallback<TokenAnswer>& done) {
    done(OpResult<TokenAnswer>::success(answer_of(cached)));
}

void UserContexts::get(const std::string& user_id, bool refresh, bool include_refresh_token,
                       OpCallback<ContextAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<ContextAnswer>::success({std::nullopt, include_refresh_token}));
        return;
    }
    const Timestamp now = runtime_.now();
    const TokenTimes tokens = cached->context.times();
    const bool needs = refresh && tokens.refresh_token && !backing_off(*cached, now) &&
                       !usable_without_refresh(tokens, now, runtime_.config().refresh.policy);
    if (needs && !still_valid(tokens, now)) {
        // Expired or absent: refresh before answering, as the original did.
        refresher_.want(user_id, [this, user_id, include_refresh_token, done = std::move(done)](const RefreshResult&) {
            const ContextCache::Cached* again = cache_.find(user_id);
            done(OpResult<ContextAnswer>::success(
                {again == nullptr ? std::nullopt : std::optional<UserContext>(cache_.context_of(*again)), include_refresh_token}));
        });
        return;
    }
    done(OpResult<ContextAnswer>::success({cache_.context_of(*cached), include_refresh_token}));
    if (needs) refresher_.want(user_id, [](const RefreshResult&) {});  // nearly expired: refresh behind the answer
}

void UserContexts::set(const std::string& user_id, const Json& user_context, ContextWriteFlags flags,
                       OpCallback<ContextWritten> done) {
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (user_context.is_null() && flags.dry_run) {
        done(OpResult<ContextWritten>::success({true, cache_.find(user_id) != nullptr, {}, {}, {}, true}));
        return;
    }
    if (user_context.is_null()) {
        clear(user_id, [done = std::move(done)](OpResult<ContextWritten> result, std::optional<Tokens>) {
            done(std::move(result));
        });
        return;
    }
    auto parsed = user_context_from_json(user_context);
    if (!parsed) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, "user_context: " + parsed.error()));
        return;
    }
    if (parsed->user_id != user_id) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, "user_context.user_id differs from user_id"));
        return;
    }
    if (const std::string problem = check_context_write(*parsed, flags); !problem.empty()) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, problem));
        return;
    }
    write(std::make_shared<UserContext>(std::move(parsed).value()), flags, std::move(done));
}

// A clear joins the user's single flight (see write() below): it waits for
// the refresh in flight, so that what it clears, and a sign-out revokes, is
// what the refresh got; with rotating refresh tokens the spent one is worth
// nothing and the new one would live on at the provider. The wait is bounded:
// the attempt's one token request times out after request_timeout_ms. While
// it is stored, a refresh that comes due waits (writing()), and finds nothing.
void UserContexts::clear(const std::string& user_id, ClearDone done) {
    if (refresher_.after_attempt(user_id, [this, user_id, done] { clear(user_id, done); })) {
        spdlog::debug("user {}: clear waits for the refresh in flight", user_id);
        return;
    }
    if (auto writing = writes_in_flight_.find(user_id); writing != writes_in_flight_.end()) {
        writing->second.push_back([this, user_id, done = std::move(done)]() mutable { clear(user_id, std::move(done)); });
        return;
    }
    writes_in_flight_[user_id];
    runtime_.on_store<StoreStatus>(
        [this, user_id] { return runtime_.store().del(Ns::user, user_id); },
        [this, user_id, done = std::move(done)](StoreStatus status) {
            std::deque<std::function<void()>> queued = end_write(user_id);
            if (!status.ok()) {
                done(store_failure<ContextWritten>(status), std::nullopt);
            } else {
                const ContextCache::Cached* cached = cache_.find(user_id);
                const bool existed = cached != nullptr;
                // Refreshed tokens the store did not take are the live grant
                // (the stored refresh token is spent): those are the last.
                std::optional<Tokens> last;
                if (existed) last = cached->unsaved ? cached->unsaved->fresh : cache_.tokens_of(*cached);
                cache_.forget(user_id);
                if (existed) runtime_.publish("context_cleared", user_id);
                refresher_.on_cleared(user_id);
                spdlog::info("user {}: context cleared", user_id);
                done(OpResult<ContextWritten>::success({true, existed, {}, {}, {}, false}), std::move(last));
            }
            refresher_.resume_after_write(user_id);  // finds nothing to refresh once cleared
            for (auto& next : queued) next();
        });
}

std::deque<std::function<void()>> UserContexts::end_write(const std::string& user_id) {
    std::deque<std::function<void()>> queued;
    if (auto writing = writes_in_flight_.find(user_id); writing != writes_in_flight_.end()) {
        queued = std::move(writing->second);
        writes_in_flight_.erase(writing);
    }
    return queued;
}

// One thing at a time per user ("single flight"):
// - a write that arrives while this process refreshes the user waits for that
//   refresh and is then decided against its result (a stale copy is answered
//   kept_newer, the refreshed tokens stay); writes and clears that wait so go
//   in arrival order (one queue, Refresher::after_attempt), so a context set
//   after a sign-out is kept and one set before it is cleared;
// - a refresh that comes due while a write is being stored starts after it
//   (Refresher::run asks writing(), resume_after_write starts it), from the
//   written tokens;
// - writes of one user go one after the other, each decided against the last;
// - with a store that other processes share (lock capability) the write holds
//   the user's lease, the same one their refreshes hold, from its read to its
//   write; it waits a little for a lease another process holds.
void UserContexts::write(std::shared_ptr<UserContext> written, ContextWriteFlags flags,
                         OpCallback<ContextWritten> done) {
    const std::string user_id = written->user_id;
    // Through after_attempt, as clear() does: the writes and clears queued
    // behind a refresh then go in the order they arrived.
    if (refresher_.after_attempt(user_id, [this, written, flags, done] { write(written, flags, done); })) {
        spdlog::debug("user {}: context write waits for the refresh in flight", user_id);
        return;
    }
    if (auto writing = writes_in_flight_.find(user_id); writing != writes_in_flight_.end()) {
        writing->second.push_back([this, written, flags, done = std::move(done)]() mutable {
            write(written, flags, std::move(done));
        });
        return;
    }
    // What this process holds: the decision's base if the store cannot be read
    // (the write is then tried, and most likely fails). Refreshed tokens the
    // store has not taken yet (a failed write, retried on the schedule) are
    // newer than the stored ones: the decision sees them.
    std::optional<UserContext> cached;
    std::optional<Tokens> unsaved;
    if (const ContextCache::Cached* in_cache = cache_.find(user_id)) {
        cached = cache_.context_of(*in_cache);
        if (in_cache->unsaved) unsaved = in_cache->unsaved->fresh;
    }
    writes_in_flight_[user_id];
    struct Outcome {
        StoreStatus status;
        bool busy = false;        // another process held the lease throughout
        bool unreadable = false;  // the stored context could not be read (replaced)
        std::string undecryptable;  // why the stored context cannot be decrypted (nothing written)
        ContextWrite decision;
    };
    runtime_.on_store<Outcome>(
        [this, written, flags, cached = std::move(cached), unsaved = std::move(unsaved)] {
            Store& store = runtime_.store();
            Outcome out;
            const std::string& user = written->user_id;
            uint64_t fence = 0;
            // A dry run reads and decides only: no lease (it writes nothing
            // for a refresh elsewhere to race with).
            bool leased = store.can_lock() && !flags.dry_run;
            if (leased) {
                for (int attempt = 0;; ++attempt) {
                    out.status = store.lock_acquire(Ns::user, user, kWriteLease, &fence);
                    if (out.status.code != StoreCode::conflict || attempt + 1 >= kLeaseTries) break;
                    std::this_thread::sleep_for(kLeaseWait);
                }
                if (out.status.code == StoreCode::conflict) {
                    out.busy = true;
                    return out;
                }
                leased = out.status.ok();  // a failed lease: the write below reports the store's state
            }
            std::string text;
            std::optional<UserContext> stored;
            out.status = store.get(Ns::user, user, &text);
            if (out.status.ok()) {
                // A stored context this process cannot decrypt is never replaced
                // by a write (its refresh token would be lost): refused instead.
                auto opened = runtime_.cipher().open(RecordKind::user_context, user, text);
                if (!opened) {
                    out.undecryptable = opened.error();
                    if (leased) store.lock_release(Ns::user, user, fence);
                    return out;
                }
                text = std::move(opened).value();
                auto parsed = user_context_from_json(std::string_view(text));
                if (parsed) {
                    stored = std::move(parsed).value();
                } else {
                    out.unreadable = true;
                }
            }
            if (!out.status.ok() && !out.status.not_found()) stored = cached;
            if (stored && unsaved) stored->tokens = *unsaved;
            out.decision = decide_context_write(stored, *written, flags);
            if (flags.dry_run) {
                if (!out.status.ok() && !out.status.not_found()) return out;  // the store could not be read
                out.status = StoreStatus{};
                return out;
            }
            const std::string next = runtime_.cipher().seal(out.decision.context);
            out.status = leased ? store.put_fenced(Ns::user, user, next, fence) : store.put(Ns::user, user, next);
            if (leased) store.lock_release(Ns::user, user, fence);
            return out;
        },
        [this, user_id, dry_run = flags.dry_run, done = std::move(done)](Outcome out) {
            std::deque<std::function<void()>> queued = end_write(user_id);
            if (!out.undecryptable.empty()) {
                spdlog::error("user {}: context not written: the stored one cannot be decrypted ({}); it is left "
                              "as it is", user_id, out.undecryptable);
                done(OpResult<ContextWritten>::failure(
                    ErrorCode::store_unavailable,
                    "the stored context of user " + user_id + " cannot be decrypted (" + out.undecryptable +
                        "); nothing was written. Add its key to encryption.keys, or clear the context first"));
            } else if (out.busy) {
                done(OpResult<ContextWritten>::failure(ErrorCode::store_unavailable,
                                                       "another process kept refreshing the tokens of user " +
                                                           user_id + "; nothing was written, try again"));
            } else if (!out.status.ok()) {
                spdlog::error("user {}: context not {}: {}", user_id, dry_run ? "read for a dry run" : "written",
                              out.status.describe());
                done(store_failure<ContextWritten>(out.status));
            } else if (dry_run) {
                done(OpResult<ContextWritten>::success({false, false, out.decision.tokens, out.decision.refresh_token,
                                                        out.decision.change, true}));
            } else {
                if (out.unreadable) spdlog::warn("user {}: the stored context was unreadable; replaced", user_id);
                const ContextCache::Cached* before = cache_.find(user_id);
                const bool same_tokens = before != nullptr && cache_.tokens_of(*before) == out.decision.context.tokens;
                cache_.remember(out.decision.context, same_tokens ? before->obtained_at : runtime_.now());
                runtime_.publish("context_set", user_id);
                spdlog::info("user {}: context set (tokens {}, refresh token {})", user_id,
                             to_string(out.decision.tokens), to_string(out.decision.refresh_token));
                done(OpResult<ContextWritten>::success(
                    {false, false, out.decision.tokens, out.decision.refresh_token, out.decision.change, false}));
            }
            // A refresh that came due, or that callers asked for, while the write was stored.
            refresher_.resume_after_write(user_id);
            // Writes that arrived meanwhile, in order: the first goes now, the
            // others queue behind it again.
            for (auto& next : queued) next();
        });
}

void UserContexts::list(const std::string& cursor, uint32_t limit, OpCallback<UsersPage> done) {
    if (limit == 0) limit = kDefaultListLimit;
    limit = std::min(limit, kMaxListLimit);
    struct Listed {
        StoreStatus status;
        StorePage page;
    };
    runtime_.on_store<Listed>(
        [this, cursor, limit] {
            Listed listed;
            listed.status = runtime_.store().list(Ns::user, cursor, limit, &listed.page);
            return listed;
        },
        [done = std::move(done)](Listed listed) {
            if (listed.status.code == StoreCode::invalid) {
                // The client's cursor (or limit), not the store: a bad request.
                done(OpResult<UsersPage>::failure(ErrorCode::bad_request, "list_users: " + listed.status.message));
                return;
            }
            if (!listed.status.ok()) {
                done(store_failure<UsersPage>(listed.status));
                return;
            }
            done(OpResult<UsersPage>::success({std::move(listed.page.keys), std::move(listed.page.next_cursor)}));
        });
}

}  // namespace tokend
