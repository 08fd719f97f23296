#include "app/metrics.h"

#include "core/redirect_flow.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <map>
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

// A family of service values, built from the snapshot at scrape time. It
// holds the family's place in `out`, not a pointer: the vector may reallocate
// when a later family is added while this builder is still in use.
class FamilyBuilder {
public:
    FamilyBuilder(std::vector<MetricFamily>* out, std::string name, std::string help, MetricType type)
        : out_(out), at_(out->size()) {
        MetricFamily& family = out->emplace_back();
        family.name = std::move(name);
        family.help = std::move(help);
        family.type = type;
    }
    FamilyBuilder& add(double value, std::vector<ClientMetric::Label> labels = {}) {
        MetricFamily& family = (*out_)[at_];
        ClientMetric& metric = family.metric.emplace_back();
        metric.label = std::move(labels);
        if (family.type == MetricType::Counter) {
            metric.counter.value = value;
        } else {
            metric.gauge.value = value;
        }
        return *this;
    }

private:
    std::vector<MetricFamily>* out_;
    size_t at_;
};

// The labels of a series of one integration (none for the unattributed
// counts: no integration), then its own labels.
std::vector<ClientMetric::Label> labelled(const std::string* integration,
                                          std::initializer_list<ClientMetric::Label> rest = {}) {
    std::vector<ClientMetric::Label> labels;
    labels.reserve(rest.size() + 1);
    if (integration != nullptr) labels.push_back({"integration", *integration});
    labels.insert(labels.end(), rest.begin(), rest.end());
    return labels;
}

double number(uint64_t value) { return static_cast<double>(value); }

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

// One series per integration (label `integration`), and where counts can
// belong to no integration (a redirect whose state named no flow, an invalid
// auth link, an unreadable flow collected) one series without the label.
std::vector<MetricFamily> service_families(const MetricsSnapshot& s) {
    const ServiceCounters& c = s.service.counters;
    const std::vector<IntegrationGauges>& integrations = s.service.integrations;
    // Each integration with its counts, then the unattributed counts (name nullptr).
    std::vector<std::pair<const std::string*, const IntegrationCounters*>> sets;
    for (size_t i = 0; i < integrations.size(); ++i) sets.emplace_back(&integrations[i].name, &c.of(i));
    const IntegrationCounters& none = c.unattributed();
    std::vector<MetricFamily> out;
    out.reserve(32);
    FamilyBuilder(&out, "tokend_build_info", "tokend's version (always 1)", MetricType::Gauge)
        .add(1, {{"version", TOKEND_VERSION}});
    // A counter family with one series per integration: `count` picks the value.
    const auto per_integration = [&](const char* name, const char* help, auto count) {
        FamilyBuilder family(&out, name, help, MetricType::Counter);
        for (const auto& [integration, counts] : sets) family.add(number(count(*counts)), labelled(integration));
        return family;
    };
    per_integration("tokend_flows_started_total", "OAuth flows started (start_flow, auth links, re-auth messages)",
                    [](const IntegrationCounters& n) { return n.flows_started; });
    per_integration("tokend_flows_started_without_pkce_total",
                    "Flows started without PKCE (\"pkce\": false, legacy callers)",
                    [](const IntegrationCounters& n) { return n.flows_started_without_pkce; });
    per_integration("tokend_flows_completed_total", "OAuth flows that ended with tokens stored",
                    [](const IntegrationCounters& n) { return n.flows_completed; });
    per_integration("tokend_flows_failed_total",
                    "OAuth flows of a known user that ended without tokens (reason: tokend_redirects_total)",
                    [](const IntegrationCounters& n) { return n.flows_failed; });
    per_integration("tokend_flows_expired_total", "Expired or unreadable pending flows collected",
                    [](const IntegrationCounters& n) { return n.flows_swept; })
        .add(number(none.flows_swept));
    FamilyBuilder redirects(&out, "tokend_redirects_total", "Requests to /redirect, by outcome", MetricType::Counter);
    for (size_t i = 0; i < kRedirectOutcomeCount; ++i) {
        const auto outcome = static_cast<RedirectOutcome>(i);
        const std::string name(to_string(outcome));
        for (const auto& [integration, counts] : sets) {
            redirects.add(number(counts->redirect(outcome)), labelled(integration, {{"outcome", name}}));
        }
        // Only a state that named no flow goes without an integration (and,
        // should one ever, any other outcome that happened so).
        if (outcome == RedirectOutcome::bad_request || outcome == RedirectOutcome::unknown_flow ||
            none.redirect(outcome) != 0) {
            redirects.add(number(none.redirect(outcome)), {{"outcome", name}});
        }
    }
    FamilyBuilder refreshes(&out, "tokend_refreshes_total",
                            "Access-token refreshes, by outcome (adopted: another process sharing the store had "
                            "refreshed)",
                            MetricType::Counter);
    for (const auto& [integration, counts] : sets) {
        refreshes.add(number(counts->refreshes_succeeded), labelled(integration, {{"outcome", "succeeded"}}))
            .add(number(counts->refreshes_failed), labelled(integration, {{"outcome", "failed"}}))
            .add(number(counts->refreshes_adopted), labelled(integration, {{"outcome", "adopted"}}))
            .add(number(counts->reauth_required), labelled(integration, {{"outcome", "reauth_required"}}));
    }
    per_integration("tokend_refreshes_retried_total", "Failed refreshes followed by a scheduled retry",
                    [](const IntegrationCounters& n) { return n.refreshes_retried; });
    per_integration("tokend_refresh_store_failures_total",
                    "Refreshed tokens the store did not take at once (kept, written again later)",
                    [](const IntegrationCounters& n) { return n.refresh_store_failures; });
    // The gauges of users, per integration: kept as users come and go (O(1) to read).
    const auto per_integration_gauge = [&](const char* name, const char* help, auto value) {
        FamilyBuilder family(&out, name, help, MetricType::Gauge);
        for (const IntegrationGauges& one : integrations) family.add(number(value(one)), labelled(&one.name));
    };
    per_integration_gauge("tokend_refreshes_scheduled", "Users with a refresh deadline",
                          [](const IntegrationGauges& g) { return g.refreshes_scheduled; });
    FamilyBuilder(&out, "tokend_refreshes_in_flight", "Token requests in flight for refreshes", MetricType::Gauge)
        .add(number(s.service.refreshes_in_flight));
    FamilyBuilder(&out, "tokend_refreshes_waiting", "Refreshes callers wait for, queued at the token-endpoint limits",
                  MetricType::Gauge)
        .add(number(s.service.refreshes_waiting));
    per_integration_gauge("tokend_users_reauth_required", "Users whose grant is dead until they authorize again",
                          [](const IntegrationGauges& g) { return g.users_reauth_required; });
    FamilyBuilder(&out, "tokend_store_changes_applied_total", "Other processes' store writes taken into the cache",
                  MetricType::Counter)
        .add(number(c.store_changes_applied));
    FamilyBuilder(&out, "tokend_store_resyncs_total", "Full re-reads of the store after a lost change feed",
                  MetricType::Counter)
        .add(number(c.store_resyncs));
    FamilyBuilder messages(&out, "tokend_bot_messages_total", "Messages to users through the bot, by outcome",
                           MetricType::Counter);
    for (const auto& [integration, counts] : sets) {
        messages.add(number(counts->bot_messages_sent), labelled(integration, {{"outcome", "sent"}}))
            .add(number(counts->bot_messages_failed), labelled(integration, {{"outcome", "failed"}}));
    }
    FamilyBuilder sign_outs(&out, "tokend_sign_outs_total",
                            "Sign-outs (contexts cleared), by the revocation at the provider", MetricType::Counter);
    for (size_t i = 0; i < kSignOutRevocationCount; ++i) {
        const auto revocation = static_cast<SignOutRevocation>(i);
        for (const auto& [integration, counts] : sets) {
            sign_outs.add(number(counts->sign_out(revocation)),
                          labelled(integration, {{"revocation", std::string(to_string(revocation))}}));
        }
    }
    FamilyBuilder links(&out, "tokend_auth_links_total", "Signed re-authorization links, by what happened to them",
                        MetricType::Counter);
    for (const auto& [integration, counts] : sets) {
        links.add(number(counts->links_issued), labelled(integration, {{"outcome", "issued"}}))
            .add(number(counts->links_opened), labelled(integration, {{"outcome", "opened"}}))
            .add(number(counts->links_expired), labelled(integration, {{"outcome", "expired"}}));
    }
    links.add(number(none.links_invalid), {{"outcome", "invalid"}});  // an invalid link names nobody
    per_integration_gauge("tokend_users", "User contexts held", [](const IntegrationGauges& g) { return g.users; });
    FamilyBuilder pending(&out, "tokend_pending_flows", "Pending flows in the store (all processes sharing it)",
                          MetricType::Gauge);
    if (s.pending_flows >= 0) pending.add(static_cast<double>(s.pending_flows));
    FamilyBuilder(&out, "tokend_control_clients", "Connected control-socket clients", MetricType::Gauge)
        .add(number(s.control_clients));
    FamilyBuilder(&out, "tokend_http_connections", "Open connections to the redirect endpoint", MetricType::Gauge)
        .add(number(s.http_connections));
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
                            .Help("One attempt at a provider request, by what it is for (token, identity, message, revoke, jwks, discovery) and integration")
                            .Register(*registry_)),
      provider_failures_(prometheus::BuildCounter()
                             .Name("tokend_provider_requests_total")
                             .Help("Provider request attempts, by endpoint, integration and HTTP status class (none: no answer)")
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
    // (and rate()) sees 0, not nothing, until the first event. The requests of
    // an integration's roles are added with the integrations (set_integrations).
    for (const ProviderRole role : {ProviderRole::jwks, ProviderRole::discovery}) add_provider_series(role, {});
    for (const char* operation : {"get", "put", "del", "take", "list", "list_entries", "put_if_equal", "lock_acquire",
                                  "lock_release", "put_fenced", "subscribe"}) {
        store_latency_.Add({{"operation", operation}}, kStoreBuckets);
        for (StoreCode code : {StoreCode::unavailable, StoreCode::conflict, StoreCode::invalid, StoreCode::corrupt,
                               StoreCode::internal}) {
            store_errors_.Add({{"operation", operation}, {"code", std::string(to_string(code))}});
        }
    }
}

void Metrics::set_integrations(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
        for (const ProviderRole role :
             {ProviderRole::token, ProviderRole::identity, ProviderRole::message, ProviderRole::revoke}) {
            add_provider_series(role, name);
        }
    }
}

std::map<std::string, std::string> Metrics::provider_labels(ProviderRole role, std::string_view integration) {
    std::map<std::string, std::string> labels{{"endpoint", std::string(to_string(role))}};
    if (!integration.empty()) labels.emplace("integration", std::string(integration));
    return labels;
}

void Metrics::add_provider_series(ProviderRole role, std::string_view integration) {
    std::map<std::string, std::string> labels = provider_labels(role, integration);
    provider_latency_.Add(labels, kProviderBuckets);
    for (const char* status : {"2xx", "3xx", "4xx", "5xx", "none"}) {
        labels["status"] = status;
        provider_failures_.Add(labels);
    }
}

void Metrics::observe_provider_request(ProviderRole role, int status, std::chrono::steady_clock::duration took,
                                       std::string_view integration) {
    std::map<std::string, std::string> labels = provider_labels(role, integration);
    provider_latency_.Add(labels, kProviderBuckets).Observe(seconds(took));
    labels.emplace("status", std::string(status_class(status)));
    provider_failures_.Add(labels).Increment();
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
