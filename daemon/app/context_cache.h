// The token service's memory: every user context (loaded at start), each
// user's place in the refresh schedule (a small integer id), and keeping both
// current when other processes change the store (change notifications, and a
// whole re-read on a reconnect or every store.resync_interval). Loop thread
// only, after load().
#pragma once

#include "app/refresh_scheduler.h"
#include "app/service_runtime.h"
#include "app/store_change_inbox.h"
#include "core/compact_context.h"
#include "core/id_index.h"
#include "core/refresh_attempt.h"
#include "core/user_context.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

class ContextCache {
public:
    // One user's entry (about 330 bytes with Webex-sized tokens, docs/benchmarks.md).
    struct Cached {
        CompactContext context;  // context_of() / tokens_of() unpack it
        Timestamp obtained_at;   // when tokend got or first loaded these tokens
        uint32_t id = 0;        // in the refresh schedule
        uint32_t failures = 0;  // refresh attempts failed in a row
        std::unique_ptr<UnsavedTokens> unsaved;
    };
    // Another process's write (or clear: nullptr) was just taken into the cache.
    using ChangeListener = std::function<void(const std::string& user_id, const UserContext* stored)>;

    ContextCache(ServiceRuntime& runtime, RefreshScheduler& scheduler);

    // Start-up, before the loop runs: subscribes to the store's change
    // notifications (when it has them), then reads every stored context into
    // memory. Unreadable ones are logged and skipped (left in the store).
    // Throws when the store cannot be read.
    void load();
    // On the loop: takes store changes from now on (and, for a shared store,
    // reads it whole every store.resync_interval). Opens handles (runtime counts them).
    void start(uv_loop_t* loop, ChangeListener on_change);
    // Closes the handles; each close is reported to the runtime.
    void close();

    Cached* find(std::string_view user_id);
    const Cached* find(std::string_view user_id) const;
    // The user id of a schedule id, or nullopt.
    std::optional<std::string> user_of(uint32_t id) const;
    size_t size() const { return index_.size(); }
    // A cached context as it was remembered, and its tokens alone.
    UserContext context_of(const Cached& cached) const { return cached.context.unpack(scopes_); }
    Tokens tokens_of(const Cached& cached) const { return cached.context.tokens(scopes_); }
    // Every context as this process would use it now (refreshed tokens the
    // store has not taken yet in place of the stored ones), sorted by user id:
    // taken in one go on the loop thread, so no write or refresh lands halfway
    // (the export op's snapshot).
    std::vector<UserContext> snapshot() const;
    size_t without_refresh_token() const { return without_refresh_token_; }
    // The same two gauges for one integration (IntegrationSet::index_of),
    // kept as users come and go, so a scrape reads them in O(1).
    struct UserCounts {
        size_t users = 0;
        size_t without_refresh_token = 0;
    };
    UserCounts users_of(size_t integration) const {
        return integration < per_integration_.size() ? per_integration_[integration] : UserCounts{};
    }
    // A user key's integration, as the schedule groups it.
    RefreshSchedule::Group group_of(std::string_view user_id) const {
        return static_cast<RefreshSchedule::Group>(runtime_.integrations().index_of_key(user_id));
    }

    // Takes a context (new tokens or a new user): failures and unsaved tokens
    // reset, the refresh deadline set from the tokens.
    Cached& remember(const UserContext& context, Timestamp obtained_at);
    void forget(const std::string& user_id);
    // Sets the refresh deadline from the cached tokens (or takes the user off the schedule).
    void reschedule(const Cached& cached);
    // Reads one user again from the store and takes what it holds.
    void reload(const std::string& user_id);

private:
    double jitter_of(std::string_view user_id) const;
    void apply_stored(const std::string& user_id, const std::optional<UserContext>& stored);
    void on_store_changes(std::vector<StoreChangeEvent> changes);
    void resync(bool periodic = false);

    ServiceRuntime& runtime_;
    RefreshScheduler& scheduler_;
    // Schedule id -> entry (an empty context: a free id). A deque, so that
    // entries stay put as it grows (find() hands out pointers).
    std::deque<Cached> entries_;
    std::vector<uint32_t> free_ids_;
    IdIndex index_;      // user id -> schedule id
    InternPool scopes_;  // the scopes and token types of every entry
    size_t without_refresh_token_ = 0;  // contexts that cannot be refreshed (reauth needed once expired)
    std::vector<UserCounts> per_integration_;  // by integration index
    std::shared_ptr<StoreChangeInbox> changes_;  // shared with the store's notification sink
    ChangeListener on_change_;
    UvTimer resync_timer_;
    bool resync_running_ = false;  // the periodic one waits for it
};

}  // namespace tokend
