// The generic oidc preset's discovery document: each refusal, and what it
// fills into the settings (only what the configuration left unset).
#include "core/oidc_discovery.h"
#include "core/provider_presets.h"
#include "core/provider_url.h"
#include "core/tokens.h"

#include <gtest/gtest.h>

#include <string>

namespace tokend {
namespace {

const std::string kIssuer = "https://sso.example/realms/bots";

Json document() {
    return Json{{"issuer", kIssuer},
                {"authorization_endpoint", kIssuer + "/protocol/openid-connect/auth"},
                {"token_endpoint", kIssuer + "/protocol/openid-connect/token"},
                {"jwks_uri", kIssuer + "/protocol/openid-connect/certs"},
                {"revocation_endpoint", kIssuer + "/protocol/openid-connect/revoke"},
                {"response_types_supported", {"code", "id_token"}},
                {"id_token_signing_alg_values_supported", {"RS256"}},
                {"code_challenge_methods_supported", {"plain", "S256"}},
                {"token_endpoint_auth_methods_supported", {"client_secret_post"}}};
}

std::string refusal(const Json& doc) {
    const auto parsed = parse_discovery_document(doc.dump(), kIssuer);
    return parsed ? "" : parsed.error();
}

OAuthSettings oidc_settings() {
    OAuthSettings oauth;
    EXPECT_TRUE(apply_provider_preset("oidc", &oauth));
    oauth.provider.openid.issuer = kIssuer;
    return oauth;
}

TEST(OidcDiscovery, ReadsAKeycloakStyleDocument) {
    const auto parsed = parse_discovery_document(document().dump(), kIssuer);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->authorization_endpoint, kIssuer + "/protocol/openid-connect/auth");
    EXPECT_EQ(parsed->token_endpoint, kIssuer + "/protocol/openid-connect/token");
    EXPECT_EQ(parsed->jwks_uri, kIssuer + "/protocol/openid-connect/certs");
    EXPECT_EQ(parsed->revocation_endpoint, kIssuer + "/protocol/openid-connect/revoke");
    EXPECT_TRUE(parsed->pkce_s256);
    EXPECT_EQ(parsed->client_auth, ClientAuth::client_secret_post);
}

TEST(OidcDiscovery, RefusesAnotherIssuersDocument) {
    Json doc = document();
    doc["issuer"] = "https://evil.example/realms/bots";
    EXPECT_NE(refusal(doc).find("not the configured one"), std::string::npos);
    doc["issuer"] = kIssuer + "/";  // exactly the configured one: no normalisation
    EXPECT_NE(refusal(doc), "");
    doc.erase("issuer");
    EXPECT_EQ(refusal(doc), "the document has no issuer");
}

TEST(OidcDiscovery, RefusesGarbageHugeAndDeepDocuments) {
    EXPECT_NE(parse_discovery_document("<html>", kIssuer).error(), "");
    EXPECT_NE(parse_discovery_document("[1]", kIssuer).error(), "");
    Json doc = document();
    doc["padding"] = std::string(kMaxDiscoveryDocumentBytes, 'x');
    EXPECT_EQ(refusal(doc), "the document is longer than 256 KiB");
    doc = document();
    std::string deep = doc.dump();
    deep.pop_back();
    deep += ",\"deep\":" + std::string(100, '[') + std::string(100, ']') + "}";
    ASSERT_TRUE(parse_discovery_document(doc.dump(), kIssuer));
    EXPECT_NE(parse_discovery_document(deep, kIssuer).error().find("nests too deep"), std::string::npos);
}

TEST(OidcDiscovery, RefusesADocumentWithoutTheEndpoints) {
    for (const char* member : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
        Json doc = document();
        doc.erase(member);
        EXPECT_EQ(refusal(doc), std::string("the document has no ") + member);
        doc[member] = 42;
        EXPECT_EQ(refusal(doc), std::string("the document has no ") + member);
    }
    Json doc = document();
    doc.erase("revocation_endpoint");  // optional
    const auto parsed = parse_discovery_document(doc.dump(), kIssuer);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->revocation_endpoint, "");
}

TEST(OidcDiscovery, RefusesEndpointsThatAreNotHttpsOrLoopback) {
    for (const char* member : {"authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint"}) {
        Json doc = document();
        doc[member] = "http://sso.example/x";
        EXPECT_NE(refusal(doc).find(member), std::string::npos) << member;
        doc[member] = "http://127.0.0.1:8080/x";
        EXPECT_EQ(refusal(doc), "") << member;
        doc[member] = "http://[::1]:8080/x";
        EXPECT_EQ(refusal(doc), "") << member;
    }
}

TEST(OidcDiscovery, RefusesAProviderWithoutTheCodeFlowOrAKnownAlgorithm) {
    Json doc = document();
    doc["response_types_supported"] = {"id_token", "code id_token"};
    EXPECT_NE(refusal(doc).find("response_types_supported"), std::string::npos);
    doc.erase("response_types_supported");
    EXPECT_NE(refusal(doc).find("response_types_supported"), std::string::npos);
    doc = document();
    doc["id_token_signing_alg_values_supported"] = {"HS256", "PS256"};
    EXPECT_NE(refusal(doc).find("RS256 nor ES256"), std::string::npos);
    doc.erase("id_token_signing_alg_values_supported");
    EXPECT_NE(refusal(doc).find("RS256 nor ES256"), std::string::npos);
    doc["id_token_signing_alg_values_supported"] = {"ES256"};
    EXPECT_EQ(refusal(doc), "");
}

TEST(OidcDiscovery, PkceOnlyWithS256) {
    Json doc = document();
    doc["code_challenge_methods_supported"] = {"plain"};
    EXPECT_FALSE(parse_discovery_document(doc.dump(), kIssuer)->pkce_s256);
    doc.erase("code_challenge_methods_supported");
    EXPECT_FALSE(parse_discovery_document(doc.dump(), kIssuer)->pkce_s256);
}

TEST(OidcDiscovery, ClientAuthenticationBasicWhenListedOrUnlisted) {
    Json doc = document();
    doc["token_endpoint_auth_methods_supported"] = {"client_secret_post", "client_secret_basic"};
    EXPECT_EQ(parse_discovery_document(doc.dump(), kIssuer)->client_auth, ClientAuth::client_secret_basic);
    doc.erase("token_endpoint_auth_methods_supported");  // the specification's default
    EXPECT_EQ(parse_discovery_document(doc.dump(), kIssuer)->client_auth, ClientAuth::client_secret_basic);
    doc["token_endpoint_auth_methods_supported"] = {"client_secret_post"};
    EXPECT_EQ(parse_discovery_document(doc.dump(), kIssuer)->client_auth, ClientAuth::client_secret_post);
}

TEST(OidcDiscovery, FillsWhatTheConfigurationLeftUnset) {
    const DiscoveredProvider found = *parse_discovery_document(document().dump(), kIssuer);
    const OAuthSettings filled = apply_discovery(oidc_settings(), found);
    EXPECT_EQ(filled.auth_service, found.authorization_endpoint);
    EXPECT_EQ(filled.token_service, found.token_endpoint);
    EXPECT_EQ(filled.provider.openid.jwks_uri, found.jwks_uri);
    EXPECT_EQ(filled.provider.revocation.url, found.revocation_endpoint);
    EXPECT_TRUE(filled.pkce);
    EXPECT_EQ(filled.provider.client_auth, ClientAuth::client_secret_post);
    EXPECT_EQ(filled.provider.openid.issuer, kIssuer);
    EXPECT_EQ(filled.provider.openid.identity_source, IdentitySource::id_token);
}

TEST(OidcDiscovery, ExplicitSettingsWin) {
    const DiscoveredProvider found = *parse_discovery_document(document().dump(), kIssuer);
    OAuthSettings configured = oidc_settings();
    configured.auth_service = "https://sso.example/custom/auth";
    configured.token_service = "https://sso.example/custom/token";
    configured.provider.openid.jwks_uri = "https://sso.example/custom/certs";
    configured.pkce = false;
    configured.provider.client_auth = ClientAuth::client_secret_basic;
    configured.provider.revocation.url = "";  // revocation: none
    configured.provider.discovery = {true, true, true, true, true, true, true};
    const OAuthSettings filled = apply_discovery(configured, found);
    EXPECT_EQ(filled.auth_service, configured.auth_service);
    EXPECT_EQ(filled.token_service, configured.token_service);
    EXPECT_FALSE(filled.pkce);
    EXPECT_EQ(filled.provider, configured.provider);  // client_auth, jwks_uri, revocation none
}

TEST(ProviderUrl, OneRuleForProviderUrlsAndIssuers) {
    EXPECT_TRUE(is_provider_url("https://sso.example"));
    EXPECT_TRUE(is_provider_url("http://127.0.0.1:8080/x"));
    EXPECT_TRUE(is_provider_url("http://localhost/x"));
    EXPECT_TRUE(is_provider_url("http://[::1]/x"));
    EXPECT_FALSE(is_provider_url("http://sso.example/x"));
    EXPECT_FALSE(is_provider_url("http://127.0.0.1.evil.example/x"));
    EXPECT_FALSE(is_provider_url("http://user@evil.example/x"));
    EXPECT_FALSE(is_provider_url("ftp://sso.example"));
    EXPECT_EQ(issuer_problem(kIssuer), "");
    EXPECT_NE(issuer_problem("http://sso.example/realms/bots"), "");
    EXPECT_EQ(issuer_problem("https://sso.example/realms/bots?x=1"), "must have no query or fragment");
    EXPECT_EQ(issuer_problem("https://sso.example/#f"), "must have no query or fragment");
    EXPECT_EQ(discovery_url(kIssuer), kIssuer + "/.well-known/openid-configuration");
    EXPECT_EQ(discovery_url(kIssuer + "/"), kIssuer + "/.well-known/openid-configuration");
}

}  // namespace
}  // namespace tokend
