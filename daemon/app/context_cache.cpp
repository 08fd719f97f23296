#include "app/context_cache.h"

#include "app/logging.h"
#include "host/entry_read_ahead.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_set>
#include <utility>

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
    : runtime_(runtime), scheduler_(scheduler), per_integration_(runtime.integrations().all().size()),
      changes_(std::make_shared<StoreChangeInbox>()) {}

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
    // One plugin call per page when the plugin lists entries (ABI 1.1), else a
    // get per user; read on a thread of their own a few pages ahead of the
    // parsing here, so the store's time and ours overlap.
    const StoreStatus loaded = for_each_entry_read_ahead(store, Ns::user, [&](std::string_view user_id, std::string_view text) {
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
        const Timestamp now = runtime_.now();
        remember(*context, now);
        warn_if_not_refreshable(*context, now, &not_refreshable);
        return true;
    });
    if (!loaded.ok()) throw std::runtime_error("cannot load user contexts: " + loaded.describe());
    spdlog::info("loaded {} user contexts{}", size(),
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

ContextCache::Cached* ContextCache::find(std::string_view user_id) {
    return const_cast<Cached*>(std::as_const(*this).find(user_id));
}

const ContextCache::Cached* ContextCache::find(std::string_view user_id) const {
    const auto id = index_.find(user_id, [this](uint32_t at) { return entries_[at].context.user_id(); });
    return id ? &entries_[*id] : nullptr;
}

std::vector<UserContext> ContextCache::snapshot() const {
    std::vector<UserContext> contexts;
    contexts.reserve(size());
    for (const Cached& cached : entries_) {
        if (cached.context.empty()) continue;
        contexts.push_back(context_of(cached));
        if (cached.unsaved) contexts.back().tokens = cached.unsaved->fresh;
    }
    std::sort(contexts.begin(), contexts.end(),
              [](const UserContext& a, const UserContext& b) { return a.user_id < b.user_id; });
    return contexts;
}

std::optional<std::string> ContextCache::user_of(uint32_t id) const {
    if (id >= entries_.size() || entries_[id].context.empty()) return std::nullopt;
    return std::string(entries_[id].context.user_id());
}

double ContextCache::jitter_of(std::string_view user_id) const {
    return static_cast<double>(stable_hash(user_id) >> 11) / static_cast<double>(1ULL << 53);
}

ContextCache::Cached& ContextCache::remember(const UserContext& context, Timestamp obtained_at) {
    CompactContext packed = CompactContext::pack(context, scopes_);  // first: it may throw
    const auto key_of = [this](uint32_t at) { return entries_[at].context.user_id(); };
    Cached* cached = find(context.user_id);
    UserCounts& counts = per_integration_[group_of(context.user_id)];
    if (cached == nullptr) {
        ++counts.users;
        uint32_t id;
        if (free_ids_.empty()) {
            id = static_cast<uint32_t>(entries_.size());
            entries_.emplace_back();
        } else {
            id = free_ids_.back();
            free_ids_.pop_back();
        }
        cached = &entries_[id];
        cached->id = id;
        cached->context = std::move(packed);
        index_.insert(id, key_of);
    } else {
        if (!cached->context.times().refresh_token) {
            --without_refresh_token_;
            --counts.without_refresh_token;
        }
        cached->context.release_into(scopes_);
        cached->context = std::move(packed);
    }
    cached->obtained_at = obtained_at;
    cached->failures = 0;
    cached->unsaved.reset();
    if (!cached->context.times().refresh_token) {
        ++without_refresh_token_;
        ++counts.without_refresh_token;
    }
    reschedule(*cached);
    return *cached;
}

void ContextCache::forget(const std::string& user_id) {
    Cached* cached = find(user_id);
    if (cached == nullptr) return;
    scheduler_.cancel(cached->id);
    UserCounts& counts = per_integration_[group_of(user_id)];
    --counts.users;
    if (!cached->context.times().refresh_token) {
        --without_refresh_token_;
        --counts.without_refresh_token;
    }
    index_.erase(user_id, [this](uint32_t at) { return entries_[at].context.user_id(); });
    cached->context.release_into(scopes_);
    cached->unsaved.reset();
    cached->failures = 0;
    free_ids_.push_back(cached->id);
}

void ContextCache::reschedule(const Cached& cached) {
    const auto deadline = refresh_deadline(cached.context.times(), cached.obtained_at,
                                           runtime_.config().refresh.policy, jitter_of(cached.context.user_id()));
    if (deadline) {
        scheduler_.set(cached.id, *deadline, group_of(cached.context.user_id()));
    } else {
        scheduler_.cancel(cached.id);  // nothing to refresh with
    }
}

// What the store holds now for one user (nullopt: nothing), as read after a
// change notification or during a resync.
void ContextCache::apply_stored(const std::string& user_id, const std::optional<UserContext>& stored) {
    const Cached* cached = find(user_id);
    if (!stored) {
        if (cached == nullptr) return;
        forget(user_id);
        ++runtime_.counters().store_changes_applied;
        spdlog::info("user {}: context cleared in the store by another process", user_id);
        runtime_.publish("context_cleared", user_id);
        if (on_change_) on_change_(user_id, nullptr);
        return;
    }
    if (cached != nullptr && cached->context.equals(*stored, scopes_)) return;  // our own write coming back
    const bool same_tokens = cached != nullptr && tokens_of(*cached) == stored->tokens;
    const Timestamp obtained = same_tokens ? cached->obtained_at : runtime_.now();
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
                const Cached* cached = find(context.user_id);
                if (cached == nullptr || !cached->context.equals(context, scopes_)) differing.push_back(context.user_id);
            }
            const std::unordered_set<std::string> present(snapshot.keys.begin(), snapshot.keys.end());
            for (const Cached& cached : entries_) {
                if (cached.context.empty()) continue;
                std::string user_id(cached.context.user_id());
                if (!present.count(user_id)) differing.push_back(std::move(user_id));
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
