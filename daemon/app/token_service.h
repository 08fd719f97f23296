// What tokend does, independent of how it is asked: start flows, finish them
// (from /redirect or process_redirect), hand out tokens and contexts, refresh
// tokens one at a time per user, collect old flows, count things. Runs on the
// loop thread; store calls go through the executor, provider calls through the
// outbound sender. Keeps every user context in memory (loaded at start), so a
// fresh token is answered without touching the store.
#pragma once

#include "app/event_hub.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "config/config.h"
#include "core/flow_start.h"
#include "core/flow_sweep.h"
#include "core/redirect_flow.h"
#include "core/user_context.h"
#include "host/store.h"
#include "io/executor.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tokend {

struct ServiceCounters {
    uint64_t flows_started = 0;
    uint64_t flows_completed = 0;
    uint64_t flows_failed = 0;
    uint64_t flows_swept = 0;
    uint64_t refreshes_succeeded = 0;
    uint64_t refreshes_failed = 0;
    uint64_t reauth_required = 0;
    uint64_t bot_messages_sent = 0;
    uint64_t bot_messages_failed = 0;
    std::map<std::string, uint64_t> redirects;  // by outcome
};

class TokenService {
public:
    // A fresh token has more than this left; below it, reads refresh first (the
    // original's 120 s).
    static constexpr std::chrono::seconds kRefreshMargin{120};

    TokenService(Executor& executor, Store& store, OutboundSender& outbound, EventHub& events, const Clock& clock,
                 const Config& config, Secret client_secret, Secret bot_token);

    // Start-up, before the loop runs: reads every stored context into memory.
    // Unreadable ones are logged and skipped (left in the store untouched).
    void load_contexts();

    void start_flow(const std::string& user_id, OpCallback done);

    // The end of a flow. `done` gets the final step (outcome, page).
    void process_redirect_query(std::string_view query, std::function<void(const RedirectFlow::Step&)> done);
    void process_redirect(const std::string& flow_id, Secret code, std::function<void(const RedirectFlow::Step&)> done);

    void get_token(const std::string& user_id, OpCallback done);
    void refresh(const std::string& user_id, OpCallback done);
    // include_refresh_token: the caller may see refresh tokens.
    void get_user_context(const std::string& user_id, bool refresh, bool include_refresh_token, OpCallback done);
    void set_user_context(const std::string& user_id, const Json& user_context, OpCallback done);
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

    // Stops starting new work; `idle` is called once nothing is in flight.
    void drain(std::function<void()> idle);

private:
    struct Cached {
        UserContext context;
        bool reauth_required = false;
    };
    enum class RefreshStatus { refreshed, reauth_required, provider_error, store_failed, not_found };
    struct RefreshOutcome {
        RefreshStatus status;
        std::string message;
    };
    using RefreshWaiter = std::function<void(const RefreshOutcome&)>;

    StartedFlow start_flow_for(const std::string& user_id);
    void drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step,
               std::function<void(const RedirectFlow::Step&)> done);
    void finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step);
    void start_refresh(const std::string& user_id, RefreshWaiter waiter);
    void complete_refresh(const std::string& user_id, const RefreshOutcome& outcome);
    void answer_token(const std::string& user_id, OpCallback done);
    void send_bot_message(const BotMessage& message);
    void publish(const char* event, const std::string& user_id);
    void note_store(const StoreStatus& status);
    void sweep_in_background();
    void track(int delta);

    Executor& executor_;
    Store& store_;
    OutboundSender& outbound_;
    EventHub& events_;
    const Clock& clock_;
    const Config& config_;
    OAuthSettings oauth_;  // with the client secret filled in
    Secret bot_token_;
    std::unordered_map<std::string, Cached> contexts_;
    std::unordered_map<std::string, std::vector<RefreshWaiter>> refreshing_;  // single flight per user
    std::optional<Timestamp> last_sweep_;
    bool sweeping_ = false;
    bool store_healthy_ = true;
    ServiceCounters counters_;
    Timestamp started_;
    size_t in_flight_ = 0;
    bool draining_ = false;
    std::function<void()> on_idle_;
};

}  // namespace tokend
