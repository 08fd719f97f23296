// The generic oidc preset's discovery documents (core/oidc_discovery.h):
// fetched for each such integration at start, then again until one is read
// (backoff from core/retry_policy, at most 5 minutes apart, without end). The
// last good document is kept in memory and filled into the running
// integration; until there is one, the integration is awaiting_discovery and
// the parts refuse what needs the provider. A reload (whose settings replace
// the running ones) gets the kept document filled in at once and fetches it
// again; a failed fetch keeps the document read before. No periodic re-fetch:
// the signing keys, which do change, are OidcKeys'. Loop thread only.
#pragma once

#include "app/outbound_sender.h"
#include "app/service_runtime.h"
#include "core/integrations.h"
#include "core/oidc_discovery.h"
#include "core/retry_policy.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace tokend {

class OidcDiscovery {
public:
    // Marks each oidc integration of `integrations` awaiting_discovery.
    // `filled` runs each time a document is filled into an integration (a read,
    // a reload): what waited for it can go.
    OidcDiscovery(ServiceRuntime& runtime, OutboundSender& outbound, IntegrationSet& integrations,
                  std::function<void()> filled);

    // Fetches each oidc integration's document.
    void start(uv_loop_t* loop);
    // The integrations were replaced by a reload: the kept documents are
    // filled in again, and fetched again.
    void reconfigured();
    // Stops retrying and closes the timers (the runtime counts them as the
    // service's handles; a fetch in flight counts as its work).
    void close();

    // Delays between attempts: full jitter, doubling from 1 s up to 5 minutes.
    static RetryPolicy retry_policy();

private:
    struct Source {
        size_t index = 0;              // in integrations_.all()
        OAuthSettings configured;      // as the configuration has it, before the document
        std::optional<DiscoveredProvider> document;  // the last good one
        int failures = 0;              // since the last good document
        bool fetching = false;
        bool fetch_again = false;      // a reload asked while a fetch was in flight
        std::unique_ptr<UvTimer> retry;
    };

    void fill(Source& source);
    void fetch(Source& source);
    void fetched(Source& source, const OutboundResult& result);

    ServiceRuntime& runtime_;
    OutboundSender& outbound_;
    IntegrationSet& integrations_;
    std::function<void()> filled_;
    uv_loop_t* loop_ = nullptr;
    bool closing_ = false;
    std::vector<Source> sources_;
};

}  // namespace tokend
