// OAuth flows: starting one (a pending flow in the store, a link for the
// user), finishing one (the RedirectFlow machine, from GET /redirect or
// process_redirect, each step carried out here), the link sent when a grant
// is found dead, messages to users through the bot, and collecting old flows
// (under a lease when several processes share the store). Loop thread only.
#pragma once

#include "app/context_cache.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "app/service_runtime.h"
#include "core/flow_start.h"
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

    // `oauth` (with the client secret) and `bot_token` are read at each use,
    // so a reload applies to the next flow and message.
    Flows(ServiceRuntime& runtime, ContextCache& cache, OutboundSender& outbound, const OAuthSettings& oauth,
          const Secret& bot_token);

    void start(const std::string& user_id, OpCallback<FlowLink> done);

    // The end of a flow. `done` gets the final step (outcome, page).
    void process_redirect_query(std::string_view query, RedirectDone done);
    void process_redirect(const std::string& flow_id, Secret code, RedirectDone done);

    // A dead grant: one bot message with a fresh link (the flow is stored first).
    void tell_reauth(const std::string& user_id);

    // Deletes expired and unreadable pending flows, at most once per
    // flows.maintenance_interval unless forced.
    void sweep(bool force, OpCallback<FlowSweep> done);
    // Pending flows in the store (all processes'), counted on the executor; -1 if it failed.
    void count_pending(std::function<void(long long)> done);

private:
    StartedFlow new_flow(const std::string& user_id);
    // Stores a started flow; `stored(ok)` runs after.
    void store_flow(std::shared_ptr<StartedFlow> flow, std::function<void(const StoreStatus&)> stored);
    void drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step, RedirectDone done);
    void finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step);
    void send_bot_message(const BotMessage& message);

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    OutboundSender& outbound_;
    const OAuthSettings& oauth_;
    const Secret& bot_token_;
    std::optional<Timestamp> last_sweep_;
    bool sweeping_ = false;
};

}  // namespace tokend
