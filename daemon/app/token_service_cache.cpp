// The token service's memory: the cached contexts, their places in the refresh
// schedule, and keeping both current when other processes change the store.
#include "app/token_service.h"

#include <spdlog/spdlog.h>

#include <unordered_set>

namespace tokend {
namespace {

// FNV-1a: the same user gets the same jitter in every process and build.
uint64_t stable_hash(std::string_view text) {
    uint64_t hash = 14695981039346656037ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    return hash;
}

}  // namespace

double TokenService::jitter_of(const std::string& user_id) const {
    return static_cast<double>(stable_hash(user_id) >> 11) / static_cast<double>(1ULL << 53);
}

TokenService::Cached& TokenService::remember(const UserContext& context, Timestamp obtained_at) {
    auto [it, inserted] = contexts_.try_emplace(context.user_id);
    Cached& cached = it->second;
    if (inserted) {
        if (free_ids_.empty()) {
            cached.id = static_cast<uint32_t>(users_by_id_.size());
            users_by_id_.push_back(&it->first);
        } else {
            cached.id = free_ids_.back();
            free_ids_.pop_back();
            users_by_id_[cached.id] = &it->first;
        }
    } else if (!has_refresh_token(cached.context.tokens)) {
        --without_refresh_token_;
    }
    cached.context = context;
    cached.obtained_at = obtained_at;
    cached.failures = 0;
    cached.unsaved.reset();
    if (!has_refresh_token(context.tokens)) ++without_refresh_token_;
    reschedule(cached);
    return cached;
}

void TokenService::forget(const std::string& user_id) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) return;
    scheduler_.cancel(it->second.id);
    users_by_id_[it->second.id] = nullptr;
    free_ids_.push_back(it->second.id);
    if (!has_refresh_token(it->second.context.tokens)) --without_refresh_token_;
    contexts_.erase(it);
}

void TokenService::reschedule(const Cached& cached) {
    const auto deadline =
        refresh_deadline(cached.context.tokens, cached.obtained_at, config_.refresh.policy, jitter_of(cached.context.user_id));
    if (deadline) {
        scheduler_.set(cached.id, *deadline);
    } else {
        scheduler_.cancel(cached.id);  // nothing to refresh with
    }
}

// What the store holds now for one user (nullopt: nothing), as read after a
// change notification or during a resync.
void TokenService::apply_stored(const std::string& user_id, const std::optional<UserContext>& stored) {
    auto it = contexts_.find(user_id);
    if (!stored) {
        if (it == contexts_.end()) return;
        forget(user_id);
        ++counters_.store_changes_applied;
        spdlog::info("user {}: context cleared in the store by another process", user_id);
        publish("context_cleared", user_id);
        auto waiting = refreshing_.find(user_id);
        if (waiting != refreshing_.end() && !waiting->second.running) {
            complete_refresh(user_id, {RefreshStatus::not_found, "user context was cleared"});
        }
        return;
    }
    if (it != contexts_.end() && it->second.context == *stored) return;  // our own write coming back
    const bool same_tokens = it != contexts_.end() && it->second.context.tokens == stored->tokens;
    const Timestamp obtained = same_tokens ? it->second.obtained_at : clock_.now();
    remember(*stored, obtained);
    ++counters_.store_changes_applied;
    spdlog::info("user {}: context updated from the store (another process wrote it)", user_id);
    publish("context_set", user_id);
    // A refresh waiting for another process's lease: that process's result
    // has arrived.
    auto waiting = refreshing_.find(user_id);
    if (waiting != refreshing_.end() && !waiting->second.running &&
        usable_without_refresh(stored->tokens, clock_.now(), config_.refresh.policy)) {
        ++counters_.refreshes_adopted;
        scheduler_.cancel(contexts_.at(user_id).id);
        reschedule(contexts_.at(user_id));
        complete_refresh(user_id, {RefreshStatus::refreshed, ""});
    }
}

void TokenService::on_store_changes(std::vector<StoreChangeEvent> changes) {
    std::unordered_set<std::string> users;
    bool full = false;
    for (StoreChangeEvent& change : changes) {
        if (change.change == StoreChange::resync) full = true;
        if (change.ns == Ns::user && change.change != StoreChange::resync) users.insert(std::move(change.key));
    }
    if (draining_) return;
    if (full) {
        resync();
        return;
    }
    for (const std::string& user_id : users) reload_user(user_id);
}

void TokenService::reload_user(const std::string& user_id) {
    if (user_id.empty()) return;
    struct Read {
        StoreStatus status;
        std::string text;
    };
    track(+1);
    executor_.submit<Read>(
        [this, user_id] {
            Read read;
            read.status = store_.get(Ns::user, user_id, &read.text);
            return read;
        },
        [this, user_id](Read read) {
            note_store(read.status);
            if (read.status.not_found()) {
                apply_stored(user_id, std::nullopt);
            } else if (!read.status.ok()) {
                spdlog::warn("user {}: changed in the store but cannot be read: {}", user_id, read.status.describe());
            } else if (auto context = user_context_from_json(std::string_view(read.text)); !context) {
                spdlog::warn("user {}: changed in the store but unreadable ({}); cached context kept", user_id,
                             context.error());
            } else {
                apply_stored(user_id, *context);
            }
            track(-1);
        });
}

// A shared store's changes arrive as notifications, which some writers never
// send (the original Python module publishes nothing): with
// store.resync_interval set, a whole read now and then bounds how stale the
// cache gets. Lost notifications need no timer: they come with a reconnect,
// which resyncs by itself.
void TokenService::start_periodic_resync(uv_loop_t* loop) {
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(config_.store.resync_interval);
    if (!store_.is_shared() || interval.count() <= 0) return;
    uv_timer_init(loop, &resync_timer_);
    resync_timer_.data = this;
    resync_timer_open_ = true;
    ++handles_open_;
    const auto every = static_cast<uint64_t>(interval.count());
    uv_timer_start(&resync_timer_, [](uv_timer_t* timer) {
        auto* self = static_cast<TokenService*>(timer->data);
        if (!self->draining_ && !self->resync_running_) self->resync(true);
    }, every, every);
}

// The store says notifications may have been lost (a reconnect), or the
// periodic timer fired: read everything again and take every difference.
void TokenService::resync(bool periodic) {
    struct Snapshot {
        StoreStatus status;
        std::vector<std::string> keys;
        std::vector<UserContext> contexts;  // the readable ones
    };
    ++counters_.store_resyncs;
    resync_running_ = true;
    const auto began = std::chrono::steady_clock::now();
    track(+1);
    executor_.submit<Snapshot>(
        [this] {
            Snapshot snapshot;
            // As at start: a page of entries per call when the plugin can.
            snapshot.status = store_.for_each_entry(Ns::user, [&](std::string_view key, std::string_view text) {
                snapshot.keys.emplace_back(key);
                if (auto context = user_context_from_json(text); context && context->user_id == key) {
                    snapshot.contexts.push_back(std::move(context).value());
                }
                return true;
            });
            return snapshot;
        },
        [this, periodic, began](Snapshot snapshot) {
            resync_running_ = false;
            note_store(snapshot.status);
            if (!snapshot.status.ok()) {
                spdlog::error("store resync failed: {}; the cache may be stale until the next one",
                              snapshot.status.describe());
                track(-1);
                return;
            }
            // The snapshot only finds the differences; each is read again, since
            // this process may have written the user after the snapshot did.
            std::vector<std::string> differing;
            for (const UserContext& context : snapshot.contexts) {
                auto cached = contexts_.find(context.user_id);
                if (cached == contexts_.end() || !(cached->second.context == context)) differing.push_back(context.user_id);
            }
            const std::unordered_set<std::string> present(snapshot.keys.begin(), snapshot.keys.end());
            for (const auto& [user_id, cached] : contexts_) {
                if (!present.count(user_id)) differing.push_back(user_id);
            }
            // A periodic pass that found nothing is routine: not worth a line at info.
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
            spdlog::log(periodic && differing.empty() ? spdlog::level::debug : spdlog::level::info,
                        "store resync{}: {} stored contexts, {} differ from the cache ({} ms)",
                        periodic ? " (periodic)" : "", snapshot.keys.size(), differing.size(), took.count());
            for (const std::string& user_id : differing) reload_user(user_id);
            track(-1);
        });
}

}  // namespace tokend
