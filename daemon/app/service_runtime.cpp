#include "app/service_runtime.h"

#include <spdlog/spdlog.h>

namespace tokend {

void ServiceRuntime::note_store(const StoreStatus& status) {
    // A request the store refused as malformed (a client's list cursor) says
    // nothing about the store's health either way.
    if (status.code == StoreCode::invalid) return;
    const bool healthy = status.ok() || status.not_found() || status.code == StoreCode::conflict;
    if (healthy != store_healthy_) {
        if (healthy) {
            spdlog::info("store is answering again");
        } else {
            spdlog::error("store failed: {}; requests that need it fail with store_unavailable", status.describe());
        }
    }
    store_healthy_ = healthy;
}

void ServiceRuntime::publish(const char* event, const std::string& user_id, std::string revocation) {
    events_.publish(Event{event, user_id, format_iso8601(clock_.now()), std::move(revocation)});
}

void ServiceRuntime::track(int delta) {
    in_flight_ = static_cast<size_t>(static_cast<long>(in_flight_) + delta);
    maybe_idle();
}

void ServiceRuntime::handle_closed() {
    --handles_open_;
    maybe_idle();
}

void ServiceRuntime::drain(std::function<void()> idle) {
    draining_ = true;
    on_idle_ = std::move(idle);
}

void ServiceRuntime::maybe_idle() {
    if (draining_ && in_flight_ == 0 && handles_open_ == 0 && on_idle_) {
        auto idle = std::move(on_idle_);
        on_idle_ = nullptr;
        idle();
    }
}

}  // namespace tokend
