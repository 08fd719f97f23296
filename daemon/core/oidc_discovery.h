// An OpenID Connect discovery document (OpenID Connect Discovery 1.0 section
// 3, RFC 8414), read into what the generic `oidc` preset needs, and filled
// into an integration's settings. PURE: the document comes in as text; the
// fetch is app/oidc_discovery's.
#pragma once

#include "core/oauth_settings.h"
#include "core/result.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace tokend {

// Far above a real document (Keycloak's is about 6 KiB).
inline constexpr std::size_t kMaxDiscoveryDocumentBytes = 256 * 1024;

struct DiscoveredProvider {
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
    std::string revocation_endpoint;  // empty when the document has none (RFC 8414 / RFC 7009)
    bool pkce_s256 = false;           // "S256" among code_challenge_methods_supported
    ClientAuth client_auth = ClientAuth::client_secret_basic;
};

// The document at `issuer`'s discovery URL, refused (with the reason, never
// the document's text) when: it is longer than kMaxDiscoveryDocumentBytes,
// nests deeper than kMaxJsonDepth or is not a JSON object; its `issuer` is not
// exactly `issuer` (Discovery 1.0 section 4.3: a document for another issuer
// is an impersonation); it lacks authorization_endpoint, token_endpoint or
// jwks_uri; any endpoint it names is not a provider URL (core/provider_url.h);
// `code` is not among response_types_supported; neither RS256 nor ES256 is
// among id_token_signing_alg_values_supported (the algorithms tokend verifies).
// Client authentication: client_secret_basic when the document lists it in
// token_endpoint_auth_methods_supported or has no list (the specification's
// default), else client_secret_post.
Result<DiscoveredProvider> parse_discovery_document(std::string_view text, std::string_view issuer);

// `configured` (as the configuration has it, discovery.enabled) with what the
// configuration left unset filled from `document`: the authorization and
// token endpoints, openid.jwks_uri, PKCE (on with S256), the client
// authentication and the revocation URL. Explicit settings win.
OAuthSettings apply_discovery(const OAuthSettings& configured, const DiscoveredProvider& document);

}  // namespace tokend
