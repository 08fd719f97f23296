// set_user_context with a context (clearing is in token_service.cpp): decided
// by core/context_write.h against what the store holds at the moment of the
// write, so a stale copy or a withheld refresh token never costs the grant.
//
// One thing at a time per user ("single flight"):
// - a write that arrives while this process refreshes the user waits for that
//   refresh and is then decided against its result (a stale copy is answered
//   kept_newer, the refreshed tokens stay);
// - a refresh that comes due while a write is being stored starts after it
//   (run_refresh asks defer_refresh_for_write), from the written tokens;
// - with a store that other processes share (lock capability) the write holds
//   the user's lease, the same one their refreshes hold, from its read to its
//   write; it waits a little for a lease another process holds.
#include "app/token_service.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <thread>

namespace tokend {
namespace {

constexpr std::chrono::milliseconds kWriteLease{10000};
constexpr std::chrono::milliseconds kLeaseWait{50};
constexpr int kLeaseTries = 100;  // about 5 s for another process's refresh to end

}  // namespace

void TokenService::write_user_context(std::shared_ptr<UserContext> written, ContextWriteFlags flags,
                                      OpCallback done) {
    const std::string user_id = written->user_id;
    if (auto refresh = refreshing_.find(user_id); refresh != refreshing_.end() && refresh->second.running) {
        spdlog::debug("user {}: context write waits for the refresh in flight", user_id);
        refresh->second.waiters.push_back([this, written, flags, done = std::move(done)](const RefreshOutcome&) {
            write_user_context(written, flags, done);
        });
        return;
    }
    struct Outcome {
        StoreStatus status;
        bool busy = false;        // another process held the lease throughout
        bool unreadable = false;  // the stored context could not be read (replaced)
        ContextWrite decision;
    };
    // One write per user at a time: the next is decided against this one's result.
    if (auto writing = writes_in_flight_.find(user_id); writing != writes_in_flight_.end()) {
        writing->second.queued.push_back([this, written, flags, done = std::move(done)]() mutable {
            write_user_context(written, flags, std::move(done));
        });
        return;
    }
    // What this process holds: the decision's base if the store cannot be read
    // (the write is then tried, and most likely fails, as before).
    // Refreshed tokens the store has not taken yet (a failed write, retried on
    // the schedule) are newer than the stored ones: the decision sees them.
    std::optional<UserContext> cached;
    std::optional<Tokens> unsaved;
    if (auto it = contexts_.find(user_id); it != contexts_.end()) {
        cached = it->second.context;
        if (it->second.unsaved) unsaved = it->second.unsaved->fresh;
    }
    writes_in_flight_[user_id];
    track(+1);
    executor_.submit<Outcome>(
        [this, written, flags, cached = std::move(cached), unsaved = std::move(unsaved)] {
            Outcome out;
            const std::string& user = written->user_id;
            uint64_t fence = 0;
            bool leased = store_.can_lock();
            if (leased) {
                for (int attempt = 0;; ++attempt) {
                    out.status = store_.lock_acquire(Ns::user, user, kWriteLease, &fence);
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
            out.status = store_.get(Ns::user, user, &text);
            if (out.status.ok()) {
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
            const std::string next = to_stored_text(out.decision.context);
            out.status = leased ? store_.put_fenced(Ns::user, user, next, fence) : store_.put(Ns::user, user, next);
            if (leased) store_.lock_release(Ns::user, user, fence);
            return out;
        },
        [this, user_id, done = std::move(done)](Outcome out) {
            bool refresh_deferred = false;
            std::deque<std::function<void()>> queued;
            if (auto writing = writes_in_flight_.find(user_id); writing != writes_in_flight_.end()) {
                refresh_deferred = writing->second.refresh_deferred;
                queued = std::move(writing->second.queued);
                writes_in_flight_.erase(writing);
            }
            note_store(out.status);
            if (out.busy) {
                done(OpResult::failure(ErrorCode::store_unavailable,
                                       "another process kept refreshing the tokens of user " + user_id +
                                           "; nothing was written, try again"));
            } else if (!out.status.ok()) {
                spdlog::error("user {}: context not written: {}", user_id, out.status.describe());
                done(OpResult::failure(ErrorCode::store_unavailable, "store: " + out.status.describe()));
            } else {
                if (out.unreadable) spdlog::warn("user {}: the stored context was unreadable; replaced", user_id);
                auto cached = contexts_.find(user_id);
                const bool same_tokens = cached != contexts_.end() && cached->second.context.tokens == out.decision.context.tokens;
                remember(out.decision.context, same_tokens ? cached->second.obtained_at : clock_.now());
                publish("context_set", user_id);
                spdlog::info("user {}: context set (tokens {}, refresh token {})", user_id,
                             to_string(out.decision.tokens), to_string(out.decision.refresh_token));
                done(OpResult::success({{"tokens", to_string(out.decision.tokens)},
                                        {"refresh_token", to_string(out.decision.refresh_token)}}));
            }
            // A refresh that came due, or that callers asked for, while the write was stored.
            if (auto cached = contexts_.find(user_id); refresh_deferred && cached != contexts_.end()) {
                reschedule(cached->second);
                auto refresh = refreshing_.find(user_id);
                if (refresh != refreshing_.end() && !refresh->second.running) scheduler_.request_now(cached->second.id);
            }
            // Writes that arrived meanwhile, in order: the first goes now, the
            // others queue behind it again.
            for (auto& next : queued) next();
            track(-1);
        });
}

bool TokenService::defer_refresh_for_write(const std::string& user_id) {
    auto writing = writes_in_flight_.find(user_id);
    if (writing == writes_in_flight_.end()) return false;
    writing->second.refresh_deferred = true;
    spdlog::debug("user {}: refresh waits for the context write in flight", user_id);
    return true;
}

}  // namespace tokend
