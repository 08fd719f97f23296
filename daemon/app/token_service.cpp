#include "app/token_service.h"

#include <spdlog/spdlog.h>

namespace tokend {

TokenService::TokenService(Executor& executor, Store& store, OutboundSender& outbound, EventHub& events,
                           const Clock& clock, const Config& config, IntegrationSet integrations)
    : integrations_(std::move(integrations)),
      runtime_(executor, store, events, clock, config, integrations_),
      discovery_(runtime_, outbound, integrations_, [this] { refresher_.resume_discovered(); }),
      scheduler_(clock, config.refresh.limits, [this](uint32_t id) { refresher_.run(id); }),
      cache_(runtime_, scheduler_),
      links_(runtime_, integrations_.default_integration().oauth),
      flows_(runtime_, cache_, links_, outbound, integrations_),
      refresher_(
          runtime_, cache_, scheduler_, outbound, integrations_,
          [this](const std::string& user_id) { flows_.tell_reauth(user_id); },
          [this](const std::string& user_id) { return contexts_.writing(user_id); }),
      contexts_(runtime_, cache_, scheduler_, refresher_),
      sign_out_(runtime_, cache_, contexts_, outbound, integrations_),
      reencryptor_(runtime_),
      started_(clock.now()) {}

TokenService::~TokenService() = default;

void TokenService::start(uv_loop_t* loop) {
    running_ = true;
    runtime_.handle_opened();
    scheduler_.start(loop);
    discovery_.start(loop);
    cache_.start(loop, [this](const std::string& user_id, const UserContext* stored) {
        refresher_.on_store_change(user_id, stored);
    });
    spdlog::info("refresh schedule: {} users scheduled, next refresh {}", scheduler_.scheduled(),
                 scheduler_.next_deadline() ? format_iso8601(*scheduler_.next_deadline()) : "none");
}

void TokenService::reconfigure(const IntegrationSet& integrations) {
    // Flows in progress finish with the new secret: a code exchange sends the
    // secret in force when it is made, which is what a rotation at the
    // provider needs. Assigned in place, element by element: the parts and
    // flows in progress hold references to them.
    std::vector<Integration>& running = integrations_.all();
    for (size_t i = 0; i < running.size() && i < integrations.all().size(); ++i) {
        running[i] = integrations.all()[i];
    }
    runtime_.counters().resize(running.size());
    discovery_.reconfigured();  // the oidc preset's endpoints again, and a fresh fetch
}

void TokenService::check_ready(std::function<void(std::string)> done) {
    if (!running_) {
        done(runtime_.draining() ? "shutting down" : "contexts not loaded yet");
        return;
    }
    runtime_.on_store<StoreStatus>(
        [this] {
            std::string ignored;
            return runtime_.store().get(Ns::flow, "tokend-readiness-probe", &ignored);
        },
        [done = std::move(done)](StoreStatus status) {
            done(status.ok() || status.not_found() ? "" : "store unavailable: " + status.describe());
        });
}

void TokenService::drain(std::function<void()> idle) {
    runtime_.drain(std::move(idle));
    refresher_.drop_waiting();
    if (running_) {
        running_ = false;
        scheduler_.close([this] { runtime_.handle_closed(); });
        discovery_.close();
        cache_.close();
    }
    runtime_.track(0);
}

ServiceStats TokenService::stats() const {
    ServiceStats stats;
    stats.counters = runtime_.counters();
    stats.users = cache_.size();
    stats.users_reauth_required = cache_.without_refresh_token();
    stats.refreshes_in_flight = scheduler_.in_flight();
    stats.refreshes_waiting = scheduler_.waiting_urgent();
    stats.refreshes_scheduled = scheduler_.scheduled();
    for (const Integration& integration : integrations_.all()) {
        const size_t index = integrations_.index_of(integration);
        const ContextCache::UserCounts users = cache_.users_of(index);
        stats.integrations.push_back({integration.name, users.users, users.without_refresh_token,
                                      scheduler_.scheduled_of(static_cast<RefreshSchedule::Group>(index))});
    }
    stats.next_refresh = scheduler_.next_deadline();
    stats.store_plugin = runtime_.store().plugin().name();
    stats.store_healthy = runtime_.store_healthy();
    stats.uptime_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(runtime_.now() - started_).count();
    return stats;
}

}  // namespace tokend
