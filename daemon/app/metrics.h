// tokend's Prometheus metrics. Two kinds:
//   - latencies and store errors, observed as they happen (histograms and a
//     counter in a prometheus-cpp registry; thread-safe, so store calls on
//     executor threads observe directly);
//   - what the service already counts (flows, redirects, refreshes, users,
//     connections), read from a snapshot taken on the loop thread at scrape
//     time, so TokenService needs no hooks.
// render() writes both in the text exposition format (version 0.0.4) with
// prometheus-cpp's TextSerializer; our own HTTP server serves it.
#pragma once

#include "app/token_service.h"
#include "host/store_status.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace tokend {

// The service's state at one scrape.
struct MetricsSnapshot {
    ServiceCounters counters;
    size_t users = 0;
    long long pending_flows = -1;  // -1: the store could not count them
    size_t control_clients = 0;
    size_t http_connections = 0;
    bool store_healthy = true;
    // The refresh scheduler's state (from TokenService::stats_json).
    uint64_t users_reauth_required = 0;
    uint64_t refreshes_scheduled = 0;
    uint64_t refreshes_in_flight = 0;
    uint64_t refreshes_waiting = 0;
};

class Metrics {
public:
    Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // One attempt at a provider request: `endpoint` is token, people, messages
    // or other; status 0 means no HTTP answer. Loop thread.
    void observe_provider_request(std::string_view endpoint, int status, std::chrono::steady_clock::duration took);

    // One store call (get, put, take, ...), from any thread. not_found is an
    // answer, not an error.
    void observe_store(std::string_view operation, std::chrono::steady_clock::duration took, const StoreStatus& status);

    // The exposition text for GET /metrics.
    std::string render(const MetricsSnapshot& snapshot) const;

    static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Histogram>& provider_latency_;
    prometheus::Family<prometheus::Counter>& provider_failures_;
    prometheus::Family<prometheus::Histogram>& store_latency_;
    prometheus::Family<prometheus::Counter>& store_errors_;
};

}  // namespace tokend
