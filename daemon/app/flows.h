// OAuth flows: starting one (a pending flow in the store, a link for the
// user; without PKCE for a legacy caller that builds the URL itself), starting
// one from an auth link a browser opened (GET /auth), finishing one (the RedirectFlow machine, from GET /redirect or
// process_redirect, each step carried out here), the link sent when a grant
// is found dead (a signed auth link when there is a key), messages to users through the bot, and collecting old flows
// (under a lease when several processes share the store). Loop thread only.
#pragma once

#include "app/auth_links.h"
#include "app/context_cache.h"
#include "app/oidc_keys.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "app/service_runtime.h"
#include "core/flow_start.h"
#include "core/flow_sweep.h"
#include "core/log_record.h"
#include "core/redirect_flow.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tokend {

class Flows {
public:
    using RedirectDone = std::function<void(const RedirectFlow::Step&)>;

    // `integrations` (with their secrets and texts) are read at each use, so a
    // reload applies to the next flow and message. Every user_id here is a
    // user key (core/integrations.h): it says whose integration the flow is.
    Flows(ServiceRuntime& runtime, ContextCache& cache, AuthLinks& links, OutboundSender& outbound,
          const IntegrationSet& integrations);

    // pkce false: a legacy caller builds the authorization URL itself from the
    // flow id (flows.allow_without_pkce decides whether that is allowed).
    void start(const std::string& user_id, bool pkce, OpCallback<FlowLink> done);
    // GET /auth?<query>: a valid link starts a fresh flow (PKCE on) for its
    // user and answers a redirect to the provider; head (HEAD) checks the link
    // and starts nothing.
    void open_link(std::string_view query, bool head, std::function<void(LinkAnswer)> done);

    // The end of a flow. `done` gets the final step (outcome, page). client:
    // who sent it, for the log ("127.0.0.1:5555"; the control path says so).
    void process_redirect_query(std::string_view query, std::string client, RedirectDone done);
    void process_redirect(const std::string& flow_id, Secret code, RedirectDone done);

    // A dead grant: one bot message with an auth link (without a link key: a
    // fresh flow's URL, the flow stored first).
    void tell_reauth(const std::string& user_id);

    // Deletes expired and unreadable pending flows: on each tick of the
    // maintenance timer, when forced, and on a check once
    // flows.maintenance_interval has passed since the last sweep (core/flow_sweep.h).
    void sweep(SweepCause cause, OpCallback<FlowSweep> done);
    // Pending flows in the store (all processes'), counted on the executor; -1 if it failed.
    void count_pending(std::function<void(long long)> done);

private:
    StartedFlow new_flow(const std::string& user_id, bool pkce = true);
    // Stores a started flow; `stored(ok)` runs after.
    void store_flow(std::shared_ptr<StartedFlow> flow, std::function<void(const StoreStatus&)> stored);
    void drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step, RedirectDone done);
    void keep_stored_refresh_token(UserContext* context);
    void finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step);
    // `done`, after the warning for an unknown flow (with its client, rate-limited:
    // anyone can send GET /redirect with a made-up state).
    RedirectDone warn_unknown_flow(std::shared_ptr<RedirectFlow> flow, std::string client, RedirectDone done);
    void send_bot_message(const BotMessage& message);

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    AuthLinks& links_;
    OutboundSender& outbound_;
    const IntegrationSet& integrations_;
    OidcKeys oidc_keys_;  // OpenID Connect profiles: the provider's signing keys
    std::optional<Timestamp> last_sweep_;
    bool sweeping_ = false;
    std::optional<uint64_t> maintenance_fence_;  // of the sweep lease this process took last
    LogRateLimit unknown_flow_log_{10, std::chrono::seconds(60)};
};

}  // namespace tokend
