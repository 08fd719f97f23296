// parse_discovery_document and apply_discovery (core/oidc_discovery): the
// document an OpenID Connect issuer serves, which tokend trusts for its
// endpoints. Checks: an accepted document was for exactly the configured
// issuer, within the size limit; every endpoint it gave is a provider URL
// (https, or http to loopback: the client secret travels there); filled in,
// explicit settings are never replaced and unset ones come from the document.
#include "fuzz_check.h"

#include "core/oidc_discovery.h"
#include "core/provider_presets.h"
#include "core/provider_url.h"

namespace {

using namespace tokend;

bool provider_url_or_empty(const std::string& url) { return url.empty() || is_provider_url(url); }

}  // namespace

// The input: the issuer, "\n----\n", the document.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Fields in(fuzz::as_text(data, size));
    const std::string issuer(in.next());
    const std::string_view text = in.next();
    const auto parsed = parse_discovery_document(text, issuer);
    if (!parsed) {
        FUZZ_CHECK(!parsed.error().empty());
        return 0;
    }
    FUZZ_CHECK(text.size() <= kMaxDiscoveryDocumentBytes);
    FUZZ_CHECK(text.find(issuer) != std::string_view::npos || issuer.empty() ||
               text.find('\\') != std::string_view::npos);  // escapes may spell it otherwise
    const DiscoveredProvider& found = *parsed;
    FUZZ_CHECK(is_provider_url(found.authorization_endpoint));
    FUZZ_CHECK(is_provider_url(found.token_endpoint));
    FUZZ_CHECK(is_provider_url(found.jwks_uri));
    FUZZ_CHECK(provider_url_or_empty(found.revocation_endpoint));

    OAuthSettings configured;
    apply_provider_preset("oidc", &configured);
    configured.provider.openid.issuer = issuer;
    const OAuthSettings filled = apply_discovery(configured, found);
    FUZZ_CHECK(filled.auth_service == found.authorization_endpoint);
    FUZZ_CHECK(filled.token_service == found.token_endpoint);
    FUZZ_CHECK(filled.provider.openid.jwks_uri == found.jwks_uri);
    FUZZ_CHECK(filled.provider.revocation.url == found.revocation_endpoint);
    FUZZ_CHECK(filled.pkce == found.pkce_s256);
    FUZZ_CHECK(filled.provider.openid.issuer == issuer);

    configured.auth_service = "https://configured.example/auth";
    configured.token_service = "https://configured.example/token";
    configured.provider.openid.jwks_uri = "https://configured.example/certs";
    configured.provider.revocation.url.clear();
    configured.pkce = false;
    configured.provider.client_auth = ClientAuth::client_secret_basic;
    configured.provider.discovery = {true, true, true, true, true, true, true};
    const OAuthSettings kept = apply_discovery(configured, found);
    FUZZ_CHECK(kept.auth_service == configured.auth_service && kept.token_service == configured.token_service);
    FUZZ_CHECK(kept.provider == configured.provider && !kept.pkce);
    return 0;
}
