// What tokend does, independent of how it is asked, as a thin facade over
// parts named for their jobs (the control and HTTP handlers, the daemon and
// the metrics talk to this one):
//   ContextCache   the contexts in memory, their schedule ids, store changes, resync
//   Refresher      the edge of core/refresh_attempt: single flight, lease, fence, retry
//   Flows          start_flow (with or without PKCE), flows from auth links, the end of a
//                  flow (RedirectFlow), the re-auth message, flow GC
//   AuthLinks      the link key, signing auth links and checking opened ones
//   UserContexts   get_token, refresh, get/set_user_context (grant-safe writes), list_users
//   SignOut        sign_out (clear, then RFC 7009 revocation at the provider), grant_status
//   OidcDiscovery  the oidc preset's discovery documents, filled into the integrations
//   ServiceRuntime what they share: store + executor + health, in-flight count, counters
// Runs on the loop thread; store calls go through the executor, provider calls
// through the outbound sender. Results are typed (app/op_result.h): the
// control handler encodes them.
#pragma once

#include "app/auth_links.h"
#include "app/context_cache.h"
#include "app/event_hub.h"
#include "app/flows.h"
#include "app/oidc_discovery.h"
#include "app/op_result.h"
#include "app/outbound_sender.h"
#include "app/reencrypt.h"
#include "app/refresh_scheduler.h"
#include "app/refresher.h"
#include "app/service_runtime.h"
#include "app/sign_out.h"
#include "app/user_contexts.h"
#include "config/config.h"
#include "core/context_export.h"
#include "host/store.h"
#include "io/executor.h"

#include <uv.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokend {

// One integration's gauges at one moment (its users' share of the totals).
struct IntegrationGauges {
    std::string name;
    size_t users = 0;
    size_t users_reauth_required = 0;
    size_t refreshes_scheduled = 0;
};

// The service's state at one moment, for stats and metrics.
struct ServiceStats {
    ServiceCounters counters;  // counters.of(i) is integrations[i]'s
    std::vector<IntegrationGauges> integrations;  // in IntegrationSet order, the default first
    size_t users = 0;
    size_t users_reauth_required = 0;  // contexts without a refresh token
    size_t refreshes_in_flight = 0;
    size_t refreshes_waiting = 0;
    size_t refreshes_scheduled = 0;
    std::optional<Timestamp> next_refresh;
    std::string store_plugin;
    bool store_healthy = true;
    long long uptime_seconds = 0;
};

class TokenService {
public:
    // `integrations`: the default first, secrets and texts filled in
    // (integrations_from_config). Every user_id below is a user key
    // (core/integrations.h: the user id itself in the default integration).
    TokenService(Executor& executor, Store& store, OutboundSender& outbound, EventHub& events, const Clock& clock,
                 const Config& config, IntegrationSet integrations);
    ~TokenService();

    // Start-up, before the loop runs: subscribes to the store's change
    // notifications (when it has them), then reads every stored context into
    // memory. Unreadable ones are logged and skipped (left in the store).
    void load_contexts() { cache_.load(); }
    // On the loop: schedules every loaded context (overdue ones refresh at
    // once, within the token-endpoint limits) and starts taking store changes
    // (and, for a shared store, reading it whole every store.resync_interval).
    void start(uv_loop_t* loop);

    // pkce false: a legacy caller builds the authorization URL itself from the
    // flow id (flows.allow_without_pkce decides whether that is allowed).
    void start_flow(const std::string& user_id, bool pkce, OpCallback<FlowLink> done) {
        flows_.start(user_id, pkce, std::move(done));
    }

    // Auth links. The key comes from load_link_key() before start; without
    // one, auth_link is refused and GET /auth answers that links are not available.
    void set_link_key(Secret key) { links_.set_key(std::move(key)); }
    // Encryption at rest: set before load_contexts().
    void set_cipher(StoreCipher cipher) { runtime_.set_cipher(std::move(cipher)); }
    void auth_link(const std::string& user_id, OpCallback<SignedLink> done) { done(links_.issue(user_id)); }
    // GET /auth?<query> (head: HEAD, which checks the link and starts nothing).
    void open_auth_link(std::string_view query, bool head, std::function<void(LinkAnswer)> done) {
        flows_.open_link(query, head, std::move(done));
    }
    // The end of a flow. `done` gets the final step (outcome, page).
    void process_redirect_query(std::string_view query, std::string client, Flows::RedirectDone done) {
        flows_.process_redirect_query(query, std::move(client), std::move(done));
    }
    void process_redirect(const std::string& flow_id, Secret code, Flows::RedirectDone done) {
        flows_.process_redirect(flow_id, std::move(code), std::move(done));
    }
    void flow_maintenance(bool force, OpCallback<FlowSweep> done) {
        flows_.sweep(force ? SweepCause::forced : SweepCause::check, std::move(done));
    }
    // A tick of the maintenance timer: sweeps whenever no sweep is running.
    void flow_maintenance_tick() { flows_.sweep(SweepCause::tick, [](OpResult<FlowSweep>) {}); }
    // Pending flows in the store (all processes'), counted on the executor; -1 if it failed.
    void count_pending_flows(std::function<void(long long)> done) { flows_.count_pending(std::move(done)); }

    void get_token(std::string_view user_id, OpCallback<TokenAnswer> done) {
        contexts_.get_token(user_id, std::move(done));
    }
    // get_token's answer now when it needs no refresh; nullopt: call get_token.
    std::optional<TokenAnswer> token_now(std::string_view user_id) const { return contexts_.token_now(user_id); }
    void refresh(const std::string& user_id, OpCallback<TokenAnswer> done) { contexts_.refresh(user_id, std::move(done)); }
    // include_refresh_token: the caller may see refresh tokens.
    void get_user_context(const std::string& user_id, bool refresh, bool include_refresh_token,
                          OpCallback<ContextAnswer> done) {
        contexts_.get(user_id, refresh, include_refresh_token, std::move(done));
    }
    // Grant-safe (core/context_write.h): decided against the stored context,
    // after a refresh of this user in flight (UserContexts::set).
    void set_user_context(const std::string& user_id, const Json& user_context, ContextWriteFlags flags,
                          OpCallback<ContextWritten> done) {
        contexts_.set(user_id, user_context, flags, std::move(done));
    }
    // Clears the user's context and, when revoke, revokes the grant at the
    // provider (app/sign_out.h); grant_status: what a bot may know of it.
    void sign_out(const std::string& user_id, bool revoke, OpCallback<SignedOut> done) {
        sign_out_.sign_out(user_id, revoke, std::move(done));
    }
    void grant_status(const std::string& user_id, OpCallback<GrantStatusAnswer> done) const {
        sign_out_.grant_status(user_id, std::move(done));
    }
    void list_users(const std::string& cursor, uint32_t limit, OpCallback<UsersPage> done) {
        contexts_.list(cursor, limit, std::move(done));
    }

    // Every context at this moment, for the export op (ContextCache::snapshot).
    ContextSnapshot snapshot_contexts(uint64_t serial, bool refresh_tokens) const {
        return ContextSnapshot(serial, runtime_.now(), refresh_tokens, cache_.snapshot());
    }

    // Re-encrypts every stored context and pending flow with the active key
    // (app/reencrypt.h); status: only the running one's progress or the last report.
    void reencrypt(bool status, OpCallback<ReencryptReport> done) {
        if (status) {
            done(OpResult<ReencryptReport>::success(reencryptor_.progress()));
        } else {
            reencryptor_.run(std::move(done));
        }
    }

    ServiceStats stats() const;
    const ServiceCounters& counters() const { return runtime_.counters(); }
    bool store_healthy() const { return runtime_.store_healthy(); }
    // Readiness (GET /readyz): the contexts are loaded (start() ran) and the
    // store answers now: one get of a key nobody writes, on the executor (not
    // found is an answer). done("") when ready, else a short reason.
    void check_ready(std::function<void(std::string)> done);
    size_t users() const { return cache_.size(); }

    // Reload (SIGHUP): takes the integrations' settings, secrets and texts
    // again (the same names, in the same order: a change of the list needs a
    // restart). The daemon has already updated `config` (the Config given at
    // construction) in place with what may change.
    void reconfigure(const IntegrationSet& integrations);
    const IntegrationSet& integrations() const { return integrations_; }

    // Stops starting new work (refreshes included); `idle` is called once
    // nothing is in flight and the service's own handles are closed.
    void drain(std::function<void()> idle);

private:
    IntegrationSet integrations_;  // with the secrets filled in; the parts read them at each use
    ServiceRuntime runtime_;
    OidcDiscovery discovery_;  // the oidc preset's endpoints, filled into integrations_
    RefreshScheduler scheduler_;
    ContextCache cache_;
    AuthLinks links_;
    Flows flows_;
    Refresher refresher_;
    UserContexts contexts_;
    SignOut sign_out_;
    Reencryptor reencryptor_;
    Timestamp started_;
    bool running_ = false;  // start() ran: the handles are open
};

}  // namespace tokend
