#include "app/oidc_discovery.h"

#include "app/random_source.h"
#include "core/provider_url.h"

#include <spdlog/spdlog.h>

#include <climits>

namespace tokend {

RetryPolicy OidcDiscovery::retry_policy() {
    RetryPolicy policy;
    policy.base = std::chrono::seconds(1);
    policy.cap = std::chrono::minutes(5);
    policy.max_attempts = INT_MAX;
    return policy;
}

OidcDiscovery::OidcDiscovery(ServiceRuntime& runtime, OutboundSender& outbound, IntegrationSet& integrations,
                             std::function<void()> filled)
    : runtime_(runtime), outbound_(outbound), integrations_(integrations), filled_(std::move(filled)) {
    std::vector<Integration>& all = integrations_.all();
    for (size_t i = 0; i < all.size(); ++i) {
        if (!all[i].configured || !all[i].oauth.provider.discovery.enabled) continue;
        Source source;
        source.index = i;
        source.configured = all[i].oauth;
        source.retry = std::make_unique<UvTimer>();
        all[i].awaiting_discovery = true;
        sources_.push_back(std::move(source));
    }
}

void OidcDiscovery::start(uv_loop_t* loop) {
    loop_ = loop;
    for (Source& source : sources_) {
        source.retry->open(loop);
        runtime_.handle_opened();
        fetch(source);
    }
}

void OidcDiscovery::reconfigured() {
    for (Source& source : sources_) {
        source.configured = integrations_.all()[source.index].oauth;
        fill(source);
        source.failures = 0;
        if (source.fetching) {
            source.fetch_again = true;
        } else {
            source.retry->stop();
            fetch(source);
        }
    }
}

void OidcDiscovery::close() {
    closing_ = true;
    for (Source& source : sources_) {
        if (source.retry->is_open()) source.retry->close([this] { runtime_.handle_closed(); });
    }
}

// The running integration: the configured settings with the kept document filled in.
void OidcDiscovery::fill(Source& source) {
    Integration& running = integrations_.all()[source.index];
    if (source.document) {
        running.oauth = apply_discovery(source.configured, *source.document);
        running.awaiting_discovery = false;
        if (filled_) filled_();
    } else {
        running.oauth = source.configured;
        running.awaiting_discovery = true;
    }
}

void OidcDiscovery::fetch(Source& source) {
    if (closing_ || runtime_.draining()) return;
    OutboundHttp request;
    request.role = ProviderRole::discovery;
    request.method = "GET";
    request.url = discovery_url(source.configured.provider.openid.issuer);
    source.fetching = true;
    runtime_.track(+1);
    // The sources never move: the vector is filled in the constructor.
    outbound_.send(request, [this, &source](OutboundResult result) {
        source.fetching = false;
        if (!closing_) fetched(source, result);
        runtime_.track(-1);
    });
}

void OidcDiscovery::fetched(Source& source, const OutboundResult& result) {
    const Integration& running = integrations_.all()[source.index];
    const std::string url = discovery_url(source.configured.provider.openid.issuer);
    std::string error;
    if (result.status != 200) {
        error = result.status == 0 ? result.error : "HTTP " + std::to_string(result.status);
    } else if (auto parsed = parse_discovery_document(result.body, source.configured.provider.openid.issuer); !parsed) {
        error = parsed.error();
    } else {
        source.document = std::move(parsed).value();
        source.failures = 0;
        fill(source);
        const OAuthSettings& oauth = running.oauth;
        spdlog::info("integration {}: OpenID Connect discovery document read from {}: PKCE {}, {} at the token "
                     "endpoint, revocation {}", running.name, url, oauth.pkce ? "on" : "off",
                     oauth.provider.client_auth == ClientAuth::client_secret_basic ? "client_secret_basic"
                                                                                   : "client_secret_post",
                     oauth.provider.revocation.url.empty() ? "none" : "at " + oauth.provider.revocation.url);
    }
    if (source.fetch_again) {  // a reload came meanwhile: its fetch goes now
        source.fetch_again = false;
        fetch(source);
        return;
    }
    if (error.empty()) return;
    ++source.failures;
    const auto delay = backoff_delay(retry_policy(), source.failures, random_fraction());
    spdlog::warn("integration {}: OpenID Connect discovery document not read from {}: {}; {}; trying again in {} ms",
                 running.name, url, error,
                 source.document ? "the document read before stays in use"
                                 : "no flow can start and no provider request is made until it is read",
                 delay.count());
    source.retry->start(loop_, delay, std::chrono::milliseconds(0), [this, &source] { fetch(source); });
}

}  // namespace tokend
