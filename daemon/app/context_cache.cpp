#include "app/context_cache.h"

#include "app/logging.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
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

ContextCache::ContextCache(ServiceRuntime& runtime, RefreshScheduler& scheduler)
    : runtime_(runtime), scheduler_(scheduler), changes_(std::make_shared<StoreChangeInbox>()) {}

namespace {

constexpr size_t kNotRefreshableNamed = 10;  // warnings at start-up, then one count

// At start-up: a context that cannot be refreshed works until its access token
// expires, then its user must authorize again. Said once, with what to do.
void warn_if_not_refreshable(const UserContext& context, Timestamp now, size_t* count) {
    const Tokens& tokens = context.tokens;
    std::string why;
    if (!has_refresh_token(tokens)) {
        why = "it has no refresh token";
    } else if (tokens.refresh_token_expires_at && *tokens.refresh_token_expires_at <= now) {
        why = "its refresh token expired at " + format_iso8601(*tokens.refresh_token_expires_at);
    } else {
        return;
    }
    if (++*count > kNotRefreshableNamed) return;
    const std::string until =
        tokens.expires_at ? "its access token expires at " + format_iso8601(*tokens.expires_at) : "no access token";
    log_event(spdlog::level::warn, LogFields().with_user(context.user_id).with_outcome("not_refreshable"),
              "user {}: cannot be refreshed: {}; {}; then the user must authorize again (the bot starts a flow, or "
              "tokenctl start-flow {}); tokenctl clear-context removes a context no longer used",
              context.user_id, why, until, context.user_id);
}

}  // namespace

void ContextCache::load() {
    Store& store = runtime_.store();
    if (store.can_notify()) {
        // Before reading, so that no change between the read and start() is
        // lost. The sink outlives the service: it holds the inbox itself.
        const StoreStatus subscribed = store.subscribe(
            [inbox = changes_](Ns ns, StoreChange change, std::string_view key) { inbox->push(ns, change, key); });
        if (!subscribed.ok()) throw std::runtime_error("cannot subscribe to store changes: " + subscribed.describe());
    }
    size_t unreadable = 0;
    size_t not_refreshable = 0;
    size_t undecryptable = 0;
    const StoreCipher& cipher = runtime_.cipher();
    // One plugin call per page when the plugin lists entries (ABI 1.1), else a get per user.
    const StoreStatus loaded = store.for_each_entry(Ns::user, [&](std::string_view user_id, std::string_view text) {
        if (user_id.empty()) {  // only a hand-edited file can hold one
            ++unreadable;
            spdlog::warn("a stored context has an empty user id; ignored and left in the store");
            return true;
        }
        // Opened once here; the cache holds the tokens opened (get_token never decrypts).
        bool sealed_failed = false;
        auto context = cipher.open_context(user_id, text, &sealed_failed);
        if (sealed_failed) {
            ++undecryptable;
            spdlog::error("user {}: stored context cannot be decrypted: {}; not served, left in the store as it is",
                          user_id, context.error());
            return true;
        }
        if (!context) {
            ++unreadable;
            spdlog::warn("user {}: stored context is unreadable ({}); ignored and left in the store", user_id,
                         context.error());
            return true;
        }
        if (context->user_id != user_id) {
            // Cached under its inner id, it would serve this entry's tokens as another user's.
            ++unreadable;
            spdlog::warn("user {}: stored context names another user_id; ignored and left in the store", user_id);
            return true;
        }
        remember(*context, runtime_.now());
        warn_if_not_refreshable(*context, runtime_.now(), &not_refreshable);
        return true;
    });
    if (!loaded.ok()) throw std::runtime_error("cannot load user contexts: " + loaded.describe());
    spdlog::info("loaded {} user contexts{}", contexts_.size(),
                 unreadable ? " (" + std::to_string(unreadable) + " unreadable, skipped)" : std::string());
    if (not_refreshable > kNotRefreshableNamed) {
        spdlog::warn("{} user contexts in all cannot be refreshed (the first {} are named above); "
                     "tokenctl get-context USER shows each",
                     not_refreshable, kNotRefreshableNamed);
    }
    spdlog::log(undecryptable ? spdlog::level::err : spdlog::level::info,
                "encryption at rest: {}; {} stored contexts could not be decrypted", cipher.describe(), undecryptable);
}

// A shared store's changes arrive as notifications, which some writers never
// send (the original Python module publishes nothing): with
// store.resync_interval set, a whole read now and then bounds how stale the
// cache gets. Lost notifications need no timer: they come with a reconnect,
// which resyncs by itself.
void ContextCache::start(uv_loop_t* loop, ChangeListener on_change) {
    on_change_ = std::move(on_change);
    runtime_.handle_opened();
    changes_->start(loop, [this](std::vector<StoreChangeEvent> changes) { on_store_changes(std::move(changes)); });
    const auto interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(runtime_.config().store.resync_interval);
    if (!runtime_.store().is_shared() || interval.count() <= 0) return;
    runtime_.handle_opened();
    resync_timer_.start(loop, interval, interval, [this] {
        if (!runtime_.draining() && !resync_running_) resync(true);
    });
}

void ContextCache::close() {
    changes_->close([this] { runtime_.handle_closed(); });
    if (resync_timer_.is_open()) resync_timer_.close([this] { runtime_.handle_closed(); });
}

ContextCache::Cached* ContextCache::find(const std::string& user_id) {
    auto it = contexts_.find(user_id);
    return it == contexts_.end() ? nullptr : &it->second;
}

const ContextCache::Cached* ContextCache::find(const std::string& user_id) const {
    auto it = contexts_.find(user_id);
    return it == contexts_.end() ? nullptr : &it->second;
}

std::vector<UserContext> ContextCache::snapshot() const {
    std::vector<UserContext> contexts;
    contexts.reserve(contexts_.size());
    for (const auto& [user_id, cached] : contexts_) {
        contexts.push_back(cached.context);
        if (cached.unsaved) contexts.back().tokens = cached.unsaved->fresh;
    }
    std::sort(contexts.begin(), contexts.end(),
              [](const UserContext& a, const UserContext& b) { return a.user_id < b.user_id; });
    return contexts;
}

const std::string* ContextCache::user_of(uint32_t id) const {
    return id < users_by_id_.size() ? users_by_id_[id] : nullptr;
}

double ContextCache::jitter_of(const std::string& user_id) const {
    return static_cast<double>(stable_hash(user_id) >> 11) / static_cast<double>(1ULL << 53);
}

ContextCache::Cached& ContextCache::remember(const UserContext& context, Timestamp obtained_at) {
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

void ContextCache::forget(const std::string& user_id) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) return;
    scheduler_.cancel(it->second.id);
    users_by_id_[it->second.id] = nullptr;
    free_ids_.push_back(it->second.id);
    if (!has_refresh_token(it->second.context.tokens)) --without_refresh_token_;
    contexts_.erase(it);
}

void ContextCache::reschedule(const Cached& cached) {
    const auto deadline = refresh_deadline(cached.context.tokens, cached.obtained_at, runtime_.config().refresh.policy,
                                           jitter_of(cached.context.user_id));
    if (deadline) {
        scheduler_.set(cached.id, *deadline);
    } else {
        scheduler_.cancel(cached.id);  // nothing to refresh with
    }
}

// What the store holds now for one user (nullopt: nothing), as read after a
// change notification or during a resync.
void ContextCache::apply_stored(const std::string& user_id, const std::optional<UserContext>& stored) {
    auto it = contexts_.find(user_id);
    if (!stored) {
        if (it == contexts_.end()) return;
        forget(user_id);
        ++runtime_.counters().store_changes_applied;
        spdlog::info("user {}: context cleared in the store by another process", user_id);
        runtime_.publish("context_cleared", user_id);
        if (on_change_) on_change_(user_id, nullptr);
        return;
    }
    if (it != contexts_.end() && it->second.context == *stored) return;  // our own write coming back
    const bool same_tokens = it != contexts_.end() && it->second.context.tokens == stored->tokens;
    const Timestamp obtained = same_tokens ? it->second.obtained_at : runtime_.now();
    remember(*stored, obtained);
    ++runtime_.counters().store_changes_applied;
    spdlog::info("user {}: context updated from the store (another process wrote it)", user_id);
    runtime_.publish("context_set", user_id);
    if (on_change_) on_change_(user_id, &*stored);
}

void ContextCache::on_store_changes(std::vector<StoreChangeEvent> changes) {
    std::unordered_set<std::string> users;
    bool full = false;
    for (StoreChangeEvent& change : changes) {
        if (change.change == StoreChange::resync) full = true;
        if (change.ns == Ns::user && change.change != StoreChange::resync) users.insert(std::move(change.key));
    }
    if (runtime_.draining()) return;
    if (full) {
        resync();
        return;
    }
    for (const std::string& user_id : users) reload(user_id);
}

void ContextCache::reload(const std::string& user_id) {
    if (user_id.empty()) return;
    struct Read {
        StoreStatus status;
        std::string text;
    };
    runtime_.on_store<Read>(
        [this, user_id] {
            Read read;
            read.status = runtime_.store().get(Ns::user, user_id, &read.text);
            return read;
        },
        [this, user_id](Read read) {
            if (read.status.not_found()) {
                apply_stored(user_id, std::nullopt);
            } else if (!read.status.ok()) {
                spdlog::warn("user {}: changed in the store but cannot be read: {}", user_id, read.status.describe());
            } else if (auto opened = runtime_.cipher().open(RecordKind::user_context, user_id, read.text); !opened) {
                spdlog::error("user {}: changed in the store but cannot be decrypted: {}; cached context kept, "
                              "the stored one left as it is", user_id, opened.error());
            } else if (auto context = user_context_from_json(std::string_view(*opened)); !context) {
                spdlog::warn("user {}: changed in the store but unreadable ({}); cached context kept", user_id,
                             context.error());
            } else if (context->user_id != user_id) {
                spdlog::warn("user {}: changed in the store but names another user_id; cached context kept", user_id);
            } else {
                apply_stored(user_id, *context);
            }
        });
}

// The store says notifications may have been lost (a reconnect), or the
// periodic timer fired: read everything again and take every difference.
void ContextCache::resync(bool periodic) {
    struct Snapshot {
        StoreStatus status;
        std::vector<std::string> keys;
        std::vector<UserContext> contexts;  // the readable ones
    };
    ++runtime_.counters().store_resyncs;
    resync_running_ = true;
    const auto began = std::chrono::steady_clock::now();
    runtime_.on_store<Snapshot>(
        [this] {
            Snapshot snapshot;
            // As at start: a page of entries per call when the plugin can.
            snapshot.status = runtime_.store().for_each_entry(Ns::user, [&](std::string_view key, std::string_view text) {
                snapshot.keys.emplace_back(key);
                bool sealed_failed = false;  // reload() says why, if it differs from the cache
                if (auto context = runtime_.cipher().open_context(key, text, &sealed_failed);
                    context && context->user_id == key) {
                    snapshot.contexts.push_back(std::move(context).value());
                }
                return true;
            });
            return snapshot;
        },
        [this, periodic, began](Snapshot snapshot) {
            resync_running_ = false;
            if (!snapshot.status.ok()) {
                spdlog::error("store resync failed: {}; the cache may be stale until the next one",
                              snapshot.status.describe());
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
            const auto took =
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
            spdlog::log(periodic && differing.empty() ? spdlog::level::debug : spdlog::level::info,
                        "store resync{}: {} stored contexts, {} differ from the cache ({} ms)",
                        periodic ? " (periodic)" : "", snapshot.keys.size(), differing.size(), took.count());
            for (const std::string& user_id : differing) reload(user_id);
        });
}

}  // namespace tokend
