// tokend's Prometheus metrics. Two kinds:
//   - latencies and store errors, observed as they happen (histograms and a
//     counter in a prometheus-cpp registry; thread-safe, so store calls on
//     executor threads observe directly);
//   - what the service already counts (flows, redirects, refreshes, users,
//     connections), read from a snapshot taken on the loop thread at scrape
//     time (TokenService::stats(), typed), so TokenService needs no hooks.
// render() writes both in the text exposition format (version 0.0.4) with
// prometheus-cpp's TextSerializer; serve() answers GET /metrics on our own
// HTTP server, and observe_provider() is the outbound sender's observer.
#pragma once

#include "app/process_metrics.h"
#include "app/token_service.h"
#include "host/store_status.h"
#include "io/http_server.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// The service's state at one scrape.
struct MetricsSnapshot {
    ServiceStats service;
    long long pending_flows = -1;  // -1: the store could not count them
    size_t control_clients = 0;
    size_t http_connections = 0;
    ProcessSample process;  // the process_* series; a part that could not be read is left out
};

class Metrics {
public:
    Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // The integrations' names (the default first): their provider-request
    // series exist from then on, at 0. Once, before the first request.
    void set_integrations(const std::vector<std::string>& names);

    // One attempt at a provider request, labelled by its role (token,
    // identity, message, revoke, jwks, discovery: what it is for, whatever the
    // provider's URL) and the integration it was made for (empty: none, as for
    // the JWKS and discovery documents, which serve whoever asks); status 0
    // means no HTTP answer. Loop thread.
    void observe_provider_request(ProviderRole role, int status, std::chrono::steady_clock::duration took,
                                  std::string_view integration = {});
    // The same, for the outbound sender's observer.
    void observe_provider(const OutboundHttp& request, int status, std::chrono::steady_clock::duration took) {
        observe_provider_request(request.role, status, took, request.integration);
    }

    // One store call (get, put, take, ...), from any thread. not_found is an
    // answer, not an error.
    void observe_store(std::string_view operation, std::chrono::steady_clock::duration took, const StoreStatus& status);

    // The exposition text for GET /metrics.
    std::string render(const MetricsSnapshot& snapshot) const;

    // Gathers a snapshot (some of it from the store, so asynchronously) and
    // hands it to the callback, on the loop thread.
    using SnapshotSource = std::function<void(std::function<void(MetricsSnapshot)>)>;
    // A request to the metrics listener: GET (or HEAD) /metrics is answered
    // with render(snapshot); other paths 404, other methods 405.
    void serve(const HttpRequest& request, HttpResponder respond, const SnapshotSource& snapshot) const;

    static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    static std::map<std::string, std::string> provider_labels(ProviderRole role, std::string_view integration);
    void add_provider_series(ProviderRole role, std::string_view integration);

    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Histogram>& provider_latency_;
    prometheus::Family<prometheus::Counter>& provider_failures_;
    prometheus::Family<prometheus::Histogram>& store_latency_;
    prometheus::Family<prometheus::Counter>& store_errors_;
};

}  // namespace tokend
