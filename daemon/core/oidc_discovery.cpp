#include "core/oidc_discovery.h"

#include "core/json_limits.h"
#include "core/provider_url.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace tokend {
namespace {

const std::string* string_member(const Json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// Whether the array `name` holds the string `value`; absent (or not an array): nullopt.
std::optional<bool> lists(const Json& object, const char* name, std::string_view value) {
    const auto it = object.find(name);
    if (it == object.end() || !it->is_array()) return std::nullopt;
    return std::any_of(it->begin(), it->end(), [&](const Json& item) { return item.is_string() && item == value; });
}

}  // namespace

Result<DiscoveredProvider> parse_discovery_document(std::string_view text, std::string_view issuer) {
    using Failure = Result<DiscoveredProvider>;
    if (text.size() > kMaxDiscoveryDocumentBytes) return Failure::failure("the document is longer than 256 KiB");
    const Json json = parse_bounded_json(text);
    if (!json.is_object()) return Failure::failure("the document is not a JSON object (or nests too deep)");
    const std::string* named = string_member(json, "issuer");
    if (named == nullptr || *named != issuer) {
        return Failure::failure(named == nullptr ? "the document has no issuer"
                                                 : "the document's issuer is not the configured one (a document for "
                                                   "another issuer is refused: OpenID Connect Discovery 4.3)");
    }
    DiscoveredProvider found;
    for (const auto& [name, target, required] :
         {std::tuple{"authorization_endpoint", &found.authorization_endpoint, true},
          std::tuple{"token_endpoint", &found.token_endpoint, true}, std::tuple{"jwks_uri", &found.jwks_uri, true},
          std::tuple{"revocation_endpoint", &found.revocation_endpoint, false}}) {
        const std::string* url = string_member(json, name);
        if (url == nullptr) {
            if (required) return Failure::failure(std::string("the document has no ") + name);
            continue;
        }
        if (!is_provider_url(*url)) {
            return Failure::failure(std::string("the document's ") + name +
                                    " is not an https:// URL (http:// only to a loopback host)");
        }
        *target = *url;
    }
    if (lists(json, "response_types_supported", "code") != true) {
        return Failure::failure("the provider does not list the authorization code flow (\"code\" in "
                                "response_types_supported)");
    }
    if (lists(json, "id_token_signing_alg_values_supported", "RS256") != true &&
        lists(json, "id_token_signing_alg_values_supported", "ES256") != true) {
        return Failure::failure("the provider signs id_tokens with neither RS256 nor ES256 "
                                "(id_token_signing_alg_values_supported), the algorithms tokend verifies");
    }
    found.pkce_s256 = lists(json, "code_challenge_methods_supported", "S256") == true;
    // Basic when listed, or when there is no list (the specification's default), else post.
    const std::optional<bool> basic = lists(json, "token_endpoint_auth_methods_supported", "client_secret_basic");
    found.client_auth = !basic || *basic ? ClientAuth::client_secret_basic : ClientAuth::client_secret_post;
    return found;
}

OAuthSettings apply_discovery(const OAuthSettings& configured, const DiscoveredProvider& document) {
    OAuthSettings oauth = configured;
    const DiscoverySettings& set = configured.provider.discovery;
    if (!set.auth_service_set) oauth.auth_service = document.authorization_endpoint;
    if (!set.token_service_set) oauth.token_service = document.token_endpoint;
    if (!set.jwks_uri_set) oauth.provider.openid.jwks_uri = document.jwks_uri;
    if (!set.pkce_set) oauth.pkce = document.pkce_s256;
    if (!set.client_auth_set) oauth.provider.client_auth = document.client_auth;
    if (!set.revocation_set) oauth.provider.revocation.url = document.revocation_endpoint;
    return oauth;
}

}  // namespace tokend
