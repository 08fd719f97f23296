// What tokend does, independent of how it is asked: start flows, finish them
// (from /redirect or process_redirect), hand out tokens and contexts, refresh
// tokens ahead of expiry on a schedule and one at a time per user, collect old
// flows, count things. Runs on the loop thread; store calls go through the
// executor, provider calls through the outbound sender. Keeps every user
// context in memory (loaded at start, kept current from the store's change
// notifications), so a fresh token is answered without touching the store.
// The methods live in token_service.cpp (flows, reads, writes),
// token_service_cache.cpp (cache, schedule, store changes) and
// token_service_refresh.cpp (refreshing).
#pragma once

#include "app/event_hub.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "app/refresh_scheduler.h"
#include "app/store_change_inbox.h"
#include "config/config.h"
#include "core/context_write.h"
#include "core/flow_start.h"
#include "core/flow_sweep.h"
#include "core/redirect_flow.h"
#include "core/user_context.h"
#include "host/store.h"
#include "io/executor.h"

#include <uv.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tokend {

struct ServiceCounters {
    uint64_t flows_started = 0;
    uint64_t flows_started_without_pkce = 0;
    uint64_t flows_completed = 0;
    uint64_t flows_failed = 0;
    uint64_t flows_swept = 0;
    uint64_t refreshes_succeeded = 0;
    uint64_t refreshes_failed = 0;    // attempts that ended without new tokens (incl. retried ones)
    uint64_t refreshes_retried = 0;   // failures followed by a scheduled retry
    uint64_t refreshes_adopted = 0;   // another process had refreshed already (shared store)
    uint64_t reauth_required = 0;     // grants found dead (invalid_grant)
    uint64_t refresh_store_failures = 0;  // new tokens not yet stored, write retried
    uint64_t bot_messages_sent = 0;
    uint64_t bot_messages_failed = 0;
    uint64_t store_changes_applied = 0;  // other processes' writes taken into the cache
    uint64_t store_resyncs = 0;
    uint64_t links_issued = 0;   // auth_link answers and re-auth messages
    uint64_t links_opened = 0;   // valid links opened (GET): each started a flow
    uint64_t links_expired = 0;  // expired links opened
    uint64_t links_invalid = 0;  // tampered, cut or foreign links opened
    std::map<std::string, uint64_t> redirects;  // by outcome
};

// What GET /auth answers: a redirect to the provider (location set) or a page.
struct LinkAnswer {
    std::string location;
    HtmlPage page;
};

class TokenService {
public:
    TokenService(Executor& executor, Store& store, OutboundSender& outbound, EventHub& events, const Clock& clock,
                 const Config& config, Secret client_secret, Secret bot_token);
    ~TokenService();

    // Start-up, before the loop runs: subscribes to the store's change
    // notifications (when it has them), then reads every stored context into
    // memory. Unreadable ones are logged and skipped (left in the store).
    void load_contexts();
    // On the loop: schedules every loaded context (overdue ones refresh at
    // once, within the token-endpoint limits) and starts taking store changes
    // (and, for a shared store, reading it whole every store.resync_interval).
    void start(uv_loop_t* loop);

    // pkce false: a legacy caller builds the authorization URL itself from the
    // flow id (flows.allow_without_pkce decides whether that is allowed).
    void start_flow(const std::string& user_id, bool pkce, OpCallback done);

    // Auth links (token_service_links.cpp). The key comes from load_link_key()
    // before start; without one, auth_link is refused.
    void set_link_key(Secret key) { link_key_ = std::move(key); }
    void auth_link(const std::string& user_id, OpCallback done);
    // GET /auth?<query> (head: HEAD, which checks the link and starts nothing).
    void open_auth_link(std::string_view query, bool head, std::function<void(LinkAnswer)> done);

    // The end of a flow. `done` gets the final step (outcome, page).
    void process_redirect_query(std::string_view query, std::function<void(const RedirectFlow::Step&)> done);
    void process_redirect(const std::string& flow_id, Secret code, std::function<void(const RedirectFlow::Step&)> done);

    void get_token(const std::string& user_id, OpCallback done);
    void refresh(const std::string& user_id, OpCallback done);
    // include_refresh_token: the caller may see refresh tokens.
    void get_user_context(const std::string& user_id, bool refresh, bool include_refresh_token, OpCallback done);
    // Grant-safe (core/context_write.h): decided against the stored context,
    // after a refresh of this user in flight (token_service_write.cpp).
    void set_user_context(const std::string& user_id, const Json& user_context, ContextWriteFlags flags,
                          OpCallback done);
    void list_users(const std::string& cursor, uint32_t limit, OpCallback done);
    void flow_maintenance(bool force, OpCallback done);

    Json stats_json() const;
    // Pending flows in the store (all processes'), counted on the executor; -1 if it failed.
    void count_pending_flows(std::function<void(long long)> done);
    const ServiceCounters& counters() const { return counters_; }
    bool store_healthy() const { return store_healthy_; }
    size_t users() const { return contexts_.size(); }

    // Reload (SIGHUP): takes the integration settings and the secrets again.
    // The daemon has already updated `config` (the Config given at
    // construction) in place with what may change. In token_service_reload.cpp.
    void reconfigure(const Config& config, Secret client_secret, Secret bot_token);

    // Stops starting new work (refreshes included); `idle` is called once
    // nothing is in flight and the service's own handles are closed.
    void drain(std::function<void()> idle);

private:
    // New tokens from the provider that the store has not taken yet: never
    // handed out, written again on the schedule.
    struct UnsavedTokens {
        Tokens base;   // what they were refreshed from
        Tokens fresh;
    };
    struct Cached {
        UserContext context;
        Timestamp obtained_at;  // when tokend got or first loaded these tokens
        uint32_t id = 0;        // in the refresh schedule
        uint32_t failures = 0;  // refresh attempts failed in a row
        std::unique_ptr<UnsavedTokens> unsaved;
    };
    enum class RefreshStatus { refreshed, reauth_required, provider_error, store_failed, not_found };
    struct RefreshOutcome {
        RefreshStatus status;
        std::string message;
    };
    using RefreshWaiter = std::function<void(const RefreshOutcome&)>;
    struct Refresh {
        std::vector<RefreshWaiter> waiters;
        bool running = false;  // holds a gate slot
    };
    struct Attempt;  // one refresh attempt in progress (token_service_refresh.cpp)
    enum class Ending;

    StartedFlow start_flow_for(const std::string& user_id, bool pkce = true);
    void drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step,
               std::function<void(const RedirectFlow::Step&)> done);
    void finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step);
    void send_bot_message(const BotMessage& message);
    std::string link_base() const;
    Json link_stats() const;
    void publish(const char* event, const std::string& user_id);
    void note_store(const StoreStatus& status);
    void sweep_in_background();
    void track(int delta);
    void answer_token(const Cached& cached, OpCallback done);
    void answer_after_refresh(const std::string& user_id, const RefreshOutcome& outcome, bool strict, OpCallback done);

    // The cache and the schedule (token_service_cache.cpp).
    Cached& remember(const UserContext& context, Timestamp obtained_at);
    void forget(const std::string& user_id);
    void reschedule(const Cached& cached);
    double jitter_of(const std::string& user_id) const;
    void apply_stored(const std::string& user_id, const std::optional<UserContext>& stored);
    void on_store_changes(std::vector<StoreChangeEvent> changes);
    void resync(bool periodic = false);
    void start_periodic_resync(uv_loop_t* loop);
    void reload_user(const std::string& user_id);

    // Writing a context (token_service_write.cpp).
    void write_user_context(std::shared_ptr<UserContext> written, ContextWriteFlags flags, OpCallback done);
    // Whether a refresh of this user must wait for a write being stored.
    bool defer_refresh_for_write(const std::string& user_id);

    // Refreshing (token_service_refresh.cpp).
    void want_refresh(const std::string& user_id, RefreshWaiter waiter);
    void run_refresh(uint32_t id);
    void begin_attempt(std::shared_ptr<Attempt> attempt);
    void ask_provider(std::shared_ptr<Attempt> attempt);
    void on_provider_answer(std::shared_ptr<Attempt> attempt, OutboundResult result);
    void commit(std::shared_ptr<Attempt> attempt);
    void end_attempt(std::shared_ptr<Attempt> attempt, Ending ending, std::string message);
    void retry_later(Cached& cached, std::optional<std::chrono::milliseconds> retry_after);
    void tell_reauth(const std::string& user_id);
    void complete_refresh(const std::string& user_id, const RefreshOutcome& outcome);
    std::chrono::milliseconds lease_ttl() const;

    Executor& executor_;
    Store& store_;
    OutboundSender& outbound_;
    EventHub& events_;
    const Clock& clock_;
    const Config& config_;
    OAuthSettings oauth_;  // with the client secret filled in
    Secret bot_token_;
    Secret link_key_;  // signs auth links; empty: none
    std::unordered_map<std::string, Cached> contexts_;
    std::vector<const std::string*> users_by_id_;  // schedule id -> key in contexts_ (nullptr: free)
    std::vector<uint32_t> free_ids_;
    size_t without_refresh_token_ = 0;  // contexts that cannot be refreshed (reauth needed once expired)
    RefreshScheduler scheduler_;
    std::shared_ptr<StoreChangeInbox> changes_;  // shared with the store's notification sink
    std::unordered_map<std::string, Refresh> refreshing_;  // single flight per user
    struct Writing {  // a set_user_context being stored
        bool refresh_deferred = false;                // a refresh came due meanwhile
        std::deque<std::function<void()>> queued;     // later writes of the same user, in order
    };
    std::unordered_map<std::string, Writing> writes_in_flight_;
    std::optional<Timestamp> last_sweep_;
    bool sweeping_ = false;
    bool store_healthy_ = true;
    ServiceCounters counters_;
    Timestamp started_;
    size_t in_flight_ = 0;
    bool draining_ = false;
    size_t handles_open_ = 0;
    uv_timer_t resync_timer_{};
    bool resync_timer_open_ = false;
    bool resync_running_ = false;  // the periodic one waits for it
    std::function<void()> on_idle_;
};

}  // namespace tokend
