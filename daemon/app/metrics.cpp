#include "app/metrics.h"

#include "core/redirect_flow.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <vector>

namespace tokend {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Provider requests take tens of milliseconds to seconds (timeout 15 s by default).
const prometheus::Histogram::BucketBoundaries kProviderBuckets = {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30};
// Store calls: a YAML write with fsync is milliseconds; Redis well under.
const prometheus::Histogram::BucketBoundaries kStoreBuckets = {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025,  0.05,   0.1,   0.25,   0.5,   1, 2.5};

double seconds(std::chrono::steady_clock::duration took) { return std::chrono::duration<double>(took).count(); }

std::string_view status_class(int status) {
    if (status == 0) return "none";
    if (status < 300) return "2xx";
    if (status < 400) return "3xx";
    if (status < 500) return "4xx";
    return "5xx";
}

// A family of service values, built from the snapshot at scrape time.
class FamilyBuilder {
public:
    FamilyBuilder(std::vector<MetricFamily>* out, std::string name, std::string help, MetricType type)
        : family_(&out->emplace_back()) {
        family_->name = std::move(name);
        family_->help = std::move(help);
        family_->type = type;
    }
    FamilyBuilder& add(double value, std::vector<ClientMetric::Label> labels = {}) {
        ClientMetric& metric = family_->metric.emplace_back();
        metric.label = std::move(labels);
        if (family_->type == MetricType::Counter) {
            metric.counter.value = value;
        } else {
            metric.gauge.value = value;
        }
        return *this;
    }

private:
    MetricFamily* family_;
};

// The standard process_* series (the names every Prometheus client library
// uses, so dashboards made for them work), read from /proc at scrape time.
void process_families(const ProcessSample& p, std::vector<MetricFamily>* out) {
    if (p.stat) {
        FamilyBuilder(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
                      MetricType::Counter)
            .add(p.stat->cpu_seconds);
        FamilyBuilder(out, "process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge)
            .add(static_cast<double>(p.stat->resident_memory_bytes));
        FamilyBuilder(out, "process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::Gauge)
            .add(static_cast<double>(p.stat->virtual_memory_bytes));
        if (p.boot_time) {
            FamilyBuilder(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds",
                          MetricType::Gauge)
                .add(static_cast<double>(*p.boot_time) + p.stat->start_seconds_after_boot);
        }
    }
    if (p.open_fds) {
        FamilyBuilder(out, "process_open_fds", "Number of open file descriptors", MetricType::Gauge)
            .add(static_cast<double>(*p.open_fds));
    }
    if (p.max_fds) {
        FamilyBuilder(out, "process_max_fds", "Maximum number of open file descriptors", MetricType::Gauge)
            .add(static_cast<double>(*p.max_fds));
    }
}

std::vector<MetricFamily> service_families(const MetricsSnapshot& s) {
    const ServiceCounters& c = s.service.counters;
    std::vector<MetricFamily> out;
    out.reserve(16);
    FamilyBuilder(&out, "tokend_build_info", "tokend's version (always 1)", MetricType::Gauge)
        .add(1, {{"version", TOKEND_VERSION}});
    FamilyBuilder(&out, "tokend_flows_started_total", "OAuth flows started (start_flow)", MetricType::Counter)
        .add(static_cast<double>(c.flows_started));
    FamilyBuilder(&out, "tokend_flows_started_without_pkce_total",
                  "Flows started without PKCE (\"pkce\": false, legacy callers)", MetricType::Counter)
        .add(static_cast<double>(c.flows_started_without_pkce));
    FamilyBuilder(&out, "tokend_flows_completed_total", "OAuth flows that ended with tokens stored",
                  MetricType::Counter)
        .add(static_cast<double>(c.flows_completed));
    FamilyBuilder(&out, "tokend_flows_failed_total",
                  "OAuth flows of a known user that ended without tokens (reason: tokend_redirects_total)",
                  MetricType::Counter)
        .add(static_cast<double>(c.flows_failed));
    FamilyBuilder(&out, "tokend_flows_expired_total", "Expired or unreadable pending flows collected",
                  MetricType::Counter)
        .add(static_cast<double>(c.flows_swept));
    FamilyBuilder redirects(&out, "tokend_redirects_total", "Requests to /redirect, by outcome", MetricType::Counter);
    for (int i = static_cast<int>(RedirectOutcome::authenticated); i <= static_cast<int>(RedirectOutcome::store_failed);
         ++i) {
        const std::string outcome(to_string(static_cast<RedirectOutcome>(i)));
        const auto found = c.redirects.find(outcome);
        redirects.add(found == c.redirects.end() ? 0 : static_cast<double>(found->second), {{"outcome", outcome}});
    }
    FamilyBuilder(&out, "tokend_refreshes_total",
                  "Access-token refreshes, by outcome (adopted: another process sharing the store had refreshed)",
                  MetricType::Counter)
        .add(static_cast<double>(c.refreshes_succeeded), {{"outcome", "succeeded"}})
        .add(static_cast<double>(c.refreshes_failed), {{"outcome", "failed"}})
        .add(static_cast<double>(c.refreshes_adopted), {{"outcome", "adopted"}})
        .add(static_cast<double>(c.reauth_required), {{"outcome", "reauth_required"}});
    FamilyBuilder(&out, "tokend_refreshes_retried_total", "Failed refreshes followed by a scheduled retry",
                  MetricType::Counter)
        .add(static_cast<double>(c.refreshes_retried));
    FamilyBuilder(&out, "tokend_refresh_store_failures_total",
                  "Refreshed tokens the store did not take at once (kept, written again later)", MetricType::Counter)
        .add(static_cast<double>(c.refresh_store_failures));
    FamilyBuilder(&out, "tokend_refreshes_scheduled", "Users with a refresh deadline", MetricType::Gauge)
        .add(static_cast<double>(s.service.refreshes_scheduled));
    FamilyBuilder(&out, "tokend_refreshes_in_flight", "Token requests in flight for refreshes", MetricType::Gauge)
        .add(static_cast<double>(s.service.refreshes_in_flight));
    FamilyBuilder(&out, "tokend_refreshes_waiting", "Refreshes callers wait for, queued at the token-endpoint limits",
                  MetricType::Gauge)
        .add(static_cast<double>(s.service.refreshes_waiting));
    FamilyBuilder(&out, "tokend_users_reauth_required", "Users whose grant is dead until they authorize again",
                  MetricType::Gauge)
        .add(static_cast<double>(s.service.users_reauth_required));
    FamilyBuilder(&out, "tokend_store_changes_applied_total", "Other processes' store writes taken into the cache",
                  MetricType::Counter)
        .add(static_cast<double>(c.store_changes_applied));
    FamilyBuilder(&out, "tokend_store_resyncs_total", "Full re-reads of the store after a lost change feed",
                  MetricType::Counter)
        .add(static_cast<double>(c.store_resyncs));
    FamilyBuilder(&out, "tokend_bot_messages_total", "Messages to users through the bot, by outcome",
                  MetricType::Counter)
        .add(static_cast<double>(c.bot_messages_sent), {{"outcome", "sent"}})
        .add(static_cast<double>(c.bot_messages_failed), {{"outcome", "failed"}});
    FamilyBuilder(&out, "tokend_auth_links_total", "Signed re-authorization links, by what happened to them",
                  MetricType::Counter)
        .add(static_cast<double>(c.links_issued), {{"outcome", "issued"}})
        .add(static_cast<double>(c.links_opened), {{"outcome", "opened"}})
        .add(static_cast<double>(c.links_expired), {{"outcome", "expired"}})
        .add(static_cast<double>(c.links_invalid), {{"outcome", "invalid"}});
    FamilyBuilder(&out, "tokend_users", "User contexts held", MetricType::Gauge).add(static_cast<double>(s.service.users));
    FamilyBuilder pending(&out, "tokend_pending_flows", "Pending flows in the store (all processes sharing it)",
                          MetricType::Gauge);
    if (s.pending_flows >= 0) pending.add(static_cast<double>(s.pending_flows));
    FamilyBuilder(&out, "tokend_control_clients", "Connected control-socket clients", MetricType::Gauge)
        .add(static_cast<double>(s.control_clients));
    FamilyBuilder(&out, "tokend_http_connections", "Open connections to the redirect endpoint", MetricType::Gauge)
        .add(static_cast<double>(s.http_connections));
    FamilyBuilder(&out, "tokend_store_healthy", "1 while the last store call succeeded, else 0", MetricType::Gauge)
        .add(s.service.store_healthy ? 1 : 0);
    process_families(s.process, &out);
    return out;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      provider_latency_(prometheus::BuildHistogram()
                            .Name("tokend_provider_request_duration_seconds")
                            .Help("One attempt at a provider request, by what it is for (token, identity, message, revoke, jwks, discovery)")
                            .Register(*registry_)),
      provider_failures_(prometheus::BuildCounter()
                             .Name("tokend_provider_requests_total")
                             .Help("Provider request attempts, by endpoint and HTTP status class (none: no answer)")
                             .Register(*registry_)),
      store_latency_(prometheus::BuildHistogram()
                         .Name("tokend_store_operation_duration_seconds")
                         .Help("Store plugin calls, by operation")
                         .Register(*registry_)),
      store_errors_(prometheus::BuildCounter()
                        .Name("tokend_store_errors_total")
                        .Help("Store plugin calls that failed, by operation and status")
                        .Register(*registry_)) {
    // Every series of a known label set exists from the start, so a dashboard
    // (and rate()) sees 0, not nothing, until the first event.
    for (const ProviderRole role : {ProviderRole::token, ProviderRole::identity, ProviderRole::message,
                                    ProviderRole::revoke, ProviderRole::jwks, ProviderRole::discovery}) {
        const std::string endpoint(to_string(role));
        provider_latency_.Add({{"endpoint", endpoint}}, kProviderBuckets);
        for (const char* status : {"2xx", "3xx", "4xx", "5xx", "none"}) {
            provider_failures_.Add({{"endpoint", endpoint}, {"status", status}});
        }
    }
    for (const char* operation : {"get", "put", "del", "take", "list", "list_entries", "put_if_equal", "lock_acquire",
                                  "lock_release", "put_fenced", "subscribe"}) {
        store_latency_.Add({{"operation", operation}}, kStoreBuckets);
        for (StoreCode code : {StoreCode::unavailable, StoreCode::conflict, StoreCode::invalid, StoreCode::corrupt,
                               StoreCode::internal}) {
            store_errors_.Add({{"operation", operation}, {"code", std::string(to_string(code))}});
        }
    }
}

void Metrics::observe_provider_request(ProviderRole role, int status, std::chrono::steady_clock::duration took) {
    const std::string name(to_string(role));
    provider_latency_.Add({{"endpoint", name}}, kProviderBuckets).Observe(seconds(took));
    provider_failures_.Add({{"endpoint", name}, {"status", std::string(status_class(status))}}).Increment();
}

void Metrics::observe_store(std::string_view operation, std::chrono::steady_clock::duration took,
                            const StoreStatus& status) {
    const std::string name(operation);
    store_latency_.Add({{"operation", name}}, kStoreBuckets).Observe(seconds(took));
    if (!status.ok() && status.code != StoreCode::not_found) {
        store_errors_.Add({{"operation", name}, {"code", std::string(to_string(status.code))}}).Increment();
    }
}

void Metrics::serve(const HttpRequest& request, HttpResponder respond, const SnapshotSource& snapshot) const {
    HttpResponse response;
    response.headers.emplace_back("Cache-Control", "no-store");
    if (request.path != "/metrics") {
        response.status = 404;
        response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        response.body = "not found: metrics are at /metrics\n";
        respond(std::move(response));
        return;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        response.status = 405;
        response.headers.emplace_back("Allow", "GET, HEAD");
        respond(std::move(response));
        return;
    }
    snapshot([this, respond = std::move(respond)](MetricsSnapshot taken) {
        HttpResponse ok;
        ok.status = 200;
        ok.headers.emplace_back("Content-Type", kContentType);
        ok.headers.emplace_back("Cache-Control", "no-store");
        ok.body = render(taken);
        respond(std::move(ok));
    });
}

std::string Metrics::render(const MetricsSnapshot& snapshot) const {
    std::vector<MetricFamily> families = service_families(snapshot);
    for (MetricFamily& family : registry_->Collect()) families.push_back(std::move(family));
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, families);
    return text.str();
}

}  // namespace tokend
