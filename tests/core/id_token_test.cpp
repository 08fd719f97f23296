// id_token verification against keys made here by OpenSSL: a JWKS built from
// the public halves, tokens signed with the private halves, and each rejection.
#include "core/byte_encoding.h"
#include "core/flow_start.h"
#include "core/id_token.h"
#include "core/provider_presets.h"
#include "core/redirect_flow.h"
#include "core/url_encoding.h"
#include "core/tokens.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

namespace tokend {
namespace {

using Key = std::shared_ptr<EVP_PKEY>;

const Timestamp kNow = Timestamp(std::chrono::seconds(1'800'000'000));
const std::string kIssuer = "https://accounts.example";
const std::string kClient = "client-1.apps.example";
const std::string kNonce = oidc_nonce("flow-id-of-the-test");

std::string b64(std::string_view bytes) { return base64url_encode(bytes); }

std::string bn_param(EVP_PKEY* key, const char* name) {
    BIGNUM* value = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &value), 1);
    std::string bytes(static_cast<size_t>(BN_num_bytes(value)), '\0');
    BN_bn2bin(value, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(value);
    return bytes;
}

std::string padded_bn(const BIGNUM* value, size_t size) {
    std::string bytes(size, '\0');
    BN_bn2binpad(value, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(size));
    return bytes;
}

const Key& rsa_key() {
    static const Key key(EVP_RSA_gen(2048), EVP_PKEY_free);
    return key;
}
const Key& other_rsa_key() {
    static const Key key(EVP_RSA_gen(2048), EVP_PKEY_free);
    return key;
}
const Key& ec_key() {
    static const Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    return key;
}

Json rsa_jwk(const Key& key, const std::string& kid) {
    return {{"kty", "RSA"}, {"use", "sig"}, {"alg", "RS256"}, {"kid", kid},
            {"n", b64(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N))}, {"e", b64(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E))}};
}

// The EC coordinates as 32 bytes each.
std::string padded_bn_param(const Key& key, const char* name) {
    BIGNUM* value = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), name, &value), 1);
    std::string bytes = padded_bn(value, 32);
    BN_free(value);
    return bytes;
}

Json ec_jwk(const Key& key, const std::string& kid) {
    return {{"kty", "EC"}, {"crv", "P-256"}, {"kid", kid},
            {"x", b64(padded_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X))}, {"y", b64(padded_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y))}};
}

std::string sign(const Key& key, const std::string& input, bool ecdsa) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t size = 0;
    EXPECT_EQ(EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    EXPECT_EQ(EVP_DigestSign(context.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()), 1);
    std::string signature(size, '\0');
    EXPECT_EQ(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
    signature.resize(size);
    if (!ecdsa) return signature;
    // DER to r || s (RFC 7518 3.4).
    const unsigned char* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    std::string raw = padded_bn(ECDSA_SIG_get0_r(parsed), 32) + padded_bn(ECDSA_SIG_get0_s(parsed), 32);
    ECDSA_SIG_free(parsed);
    return raw;
}

Json good_claims() {
    const long now = 1'800'000'000;
    return {{"iss", kIssuer}, {"azp", kClient}, {"aud", kClient}, {"sub", "110169484474386276334"},
            {"email", "alice@example.com"}, {"email_verified", true}, {"name", "Alice"},
            {"iat", now - 10}, {"exp", now + 3590}, {"nonce", kNonce}};
}

std::string token(const Json& header, const Json& claims, const Key& key) {
    const std::string input = b64(header.dump()) + "." + b64(claims.dump());
    return input + "." + b64(sign(key, input, header.value("alg", "") == "ES256"));
}

std::string rs256(const Json& claims, const std::string& kid = "rsa-1", const Key& key = rsa_key()) {
    return token({{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}, claims, key);
}

JsonWebKeySet jwks() {
    const Json doc = {{"keys", {rsa_jwk(rsa_key(), "rsa-1"), ec_jwk(ec_key(), "ec-1")}}};
    auto set = parse_jwks(doc.dump());
    EXPECT_TRUE(set.ok()) << set.error();
    return set.ok() ? set.value() : JsonWebKeySet{};
}

IdTokenExpectations expect() { return {kIssuer, kClient, kNonce, kNow}; }

void expect_refused(const std::string& token_text, const std::string& why, const IdTokenExpectations& e = expect()) {
    auto verified = verify_id_token(token_text, jwks(), e);
    ASSERT_FALSE(verified.ok()) << "accepted; expected: " << why;
    EXPECT_EQ(verified.error(), why);
}

}  // namespace

TEST(IdToken, AcceptsRs256AndReadsTheClaims) {
    auto verified = verify_id_token(rs256(good_claims()), jwks(), expect());
    ASSERT_TRUE(verified.ok()) << verified.error();
    EXPECT_EQ(verified->subject, "110169484474386276334");
    EXPECT_EQ(verified->email, "alice@example.com");
    EXPECT_EQ(verified->name, "Alice");
}

TEST(IdToken, AcceptsEs256) {
    const std::string text = token({{"alg", "ES256"}, {"kid", "ec-1"}}, good_claims(), ec_key());
    auto verified = verify_id_token(text, jwks(), expect());
    ASSERT_TRUE(verified.ok()) << verified.error();
    EXPECT_EQ(verified->subject, "110169484474386276334");
}

TEST(IdToken, AcceptsAnAudienceArrayAndNoAzp) {
    Json claims = good_claims();
    claims["aud"] = {"another-client", kClient};
    claims.erase("azp");
    claims.erase("email");
    auto verified = verify_id_token(rs256(claims), jwks(), expect());
    ASSERT_TRUE(verified.ok()) << verified.error();
    EXPECT_EQ(verified->email, "");
}

TEST(IdToken, WithoutKidUsesTheOnlyKeyOfItsAlg) {
    const std::string text = token({{"alg", "RS256"}}, good_claims(), rsa_key());
    EXPECT_TRUE(verify_id_token(text, jwks(), expect()).ok());
}

TEST(IdToken, RefusesABadSignature) {
    expect_refused(rs256(good_claims(), "rsa-1", other_rsa_key()), "the id_token's signature does not verify");
    // A claim changed after signing.
    std::string text = rs256(good_claims());
    const size_t first = text.find('.'), second = text.find('.', first + 1);
    Json claims = good_claims();
    claims["sub"] = "attacker";
    text = text.substr(0, first + 1) + b64(claims.dump()) + text.substr(second);
    expect_refused(text, "the id_token's signature does not verify");
    // An ES256 signature of the wrong length.
    const std::string es = token({{"alg", "ES256"}, {"kid", "ec-1"}}, good_claims(), ec_key());
    expect_refused(es.substr(0, es.rfind('.') + 1) + b64(std::string(63, '\x01')), "the id_token's signature does not verify");
}

TEST(IdToken, RefusesAnUnknownKid) {
    expect_refused(rs256(good_claims(), "rsa-2"), "no key in the JWKS for the id_token's kid and alg");
    // The kid of an EC key with alg RS256: the key's kind decides.
    expect_refused(rs256(good_claims(), "ec-1"), "no key in the JWKS for the id_token's kid and alg");
}

TEST(IdToken, RefusesOtherAlgs) {
    const std::string claims = b64(good_claims().dump());
    for (const char* alg : {"none", "HS256", "RS384", "PS256", "ES512", "EdDSA"}) {
        const std::string header = b64(Json{{"alg", alg}, {"kid", "rsa-1"}}.dump());
        expect_refused(header + "." + claims + ".", "the id_token's alg is not RS256 or ES256");
        expect_refused(header + "." + claims + "." + b64("anything"), "the id_token's alg is not RS256 or ES256");
    }
    expect_refused(b64(Json{{"kid", "rsa-1"}}.dump()) + "." + claims + ".x", "the id_token's header has no alg");
    expect_refused(token({{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"exp"}}}, good_claims(), rsa_key()),
                   "the id_token's header has crit extensions");
}

TEST(IdToken, RefusesWrongClaims) {
    Json claims = good_claims();
    claims["iss"] = "https://accounts.example/";
    expect_refused(rs256(claims), "the id_token's iss is not the issuer");
    claims = good_claims();
    claims.erase("iss");
    expect_refused(rs256(claims), "the id_token's iss is not the issuer");
    claims = good_claims();
    claims["aud"] = "another-client";
    expect_refused(rs256(claims), "the id_token's aud does not hold the client_id");
    claims["aud"] = Json::array({"another-client"});
    expect_refused(rs256(claims), "the id_token's aud does not hold the client_id");
    claims = good_claims();
    claims["azp"] = "another-client";
    expect_refused(rs256(claims), "the id_token's azp is not the client_id");
    claims = good_claims();
    claims["nonce"] = oidc_nonce("another-flow");
    expect_refused(rs256(claims), "the id_token's nonce is not the flow's");
    claims.erase("nonce");
    expect_refused(rs256(claims), "the id_token's nonce is not the flow's");
    claims = good_claims();
    claims["sub"] = "";
    expect_refused(rs256(claims), "the id_token has no sub");
    claims["sub"] = 1234;
    expect_refused(rs256(claims), "the id_token has no sub");
}

TEST(IdToken, ChecksTimeWithTheSkew) {
    const long now = 1'800'000'000;
    Json claims = good_claims();
    claims["exp"] = now - 121;
    expect_refused(rs256(claims), "the id_token has expired");
    claims["exp"] = now - 119;  // within the skew
    EXPECT_TRUE(verify_id_token(rs256(claims), jwks(), expect()).ok());
    claims = good_claims();
    claims["iat"] = now + 121;
    expect_refused(rs256(claims), "the id_token's iat is in the future");
    claims["iat"] = now + 119;
    EXPECT_TRUE(verify_id_token(rs256(claims), jwks(), expect()).ok());
    claims = good_claims();
    claims.erase("exp");
    expect_refused(rs256(claims), "the id_token has no exp");
    claims = good_claims();
    claims["iat"] = "yesterday";
    expect_refused(rs256(claims), "the id_token has no iat");
    // The same token a day later.
    IdTokenExpectations later = expect();
    later.now = kNow + std::chrono::hours(24);
    expect_refused(rs256(good_claims()), "the id_token has expired", later);
}

TEST(IdToken, RefusesMalformedText) {
    const std::string good = rs256(good_claims());
    expect_refused("", "no id_token");
    expect_refused("abc", "the id_token is not in the JWS compact form (three parts)");
    expect_refused("a.b", "the id_token is not in the JWS compact form (three parts)");
    expect_refused(good + ".x", "the id_token is not in the JWS compact form (three parts)");
    expect_refused(good.substr(0, good.find('.') + 1), "the id_token is not in the JWS compact form (three parts)");
    expect_refused("e30=." + good.substr(good.find('.') + 1), "the id_token's header is not base64url JSON");
    expect_refused(b64("{\"alg\":") + "." + b64("{}") + ".x", "the id_token's header is not base64url JSON");
    expect_refused(b64("[\"RS256\"]") + "." + b64("{}") + ".x", "the id_token's header is not base64url JSON");
    // Truncated: the signature cut short, or gone.
    expect_refused(good.substr(0, good.size() - 10), "the id_token's signature does not verify");
    expect_refused(good.substr(0, good.rfind('.') + 1), "the id_token's signature is not base64url");
    expect_refused(good.substr(0, good.rfind('.') + 1) + "!!", "the id_token's signature is not base64url");
    // Signed claims that are not JSON.
    const std::string header = b64(Json{{"alg", "RS256"}, {"kid", "rsa-1"}}.dump());
    const std::string input = header + "." + b64("not json");
    expect_refused(input + "." + b64(sign(rsa_key(), input, false)), "the id_token's claims are not base64url JSON");
    expect_refused(std::string(kMaxIdTokenBytes + 1, 'a'), "the id_token is longer than its limit");
}

TEST(IdToken, ReadsTheHeaderAlone) {
    auto header = read_id_token_header(rs256(good_claims(), "rotated-key"));
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(header->alg, "RS256");
    EXPECT_EQ(header->kid, "rotated-key");
    EXPECT_FALSE(read_id_token_header("x.y").ok());
}

TEST(Jwks, SkipsUnusableKeysAndRefusesNone) {
    const Json rsa = rsa_jwk(rsa_key(), "rsa-1");
    Json enc = rsa_jwk(other_rsa_key(), "enc");
    enc["use"] = "enc";
    Json wrong_alg = rsa_jwk(other_rsa_key(), "ps");
    wrong_alg["alg"] = "PS256";
    const Json octet = {{"kty", "oct"}, {"k", b64("secret")}, {"kid", "hmac"}};
    Json off_curve = ec_jwk(ec_key(), "bad-point");
    off_curve["y"] = b64(std::string(32, '\x01'));
    const Json p384 = {{"kty", "EC"}, {"crv", "P-384"}, {"x", b64(std::string(48, 'x'))}, {"y", b64(std::string(48, 'y'))}};
    Json short_rsa = rsa;
    short_rsa["kid"] = "short";
    short_rsa["n"] = b64(std::string(128, '\xc5'));  // 1024 bits
    Json exponent_one = rsa_jwk(other_rsa_key(), "e1");
    exponent_one["e"] = b64(std::string(1, '\x01'));
    Json even_exponent = rsa_jwk(other_rsa_key(), "e2");
    even_exponent["e"] = b64(std::string(1, '\x04'));
    const Json doc = {{"keys", {enc, wrong_alg, octet, off_curve, p384, short_rsa, exponent_one, even_exponent, "text", rsa}}};
    auto set = parse_jwks(doc.dump());
    ASSERT_TRUE(set.ok()) << set.error();
    ASSERT_EQ(set->keys.size(), 1u);
    EXPECT_EQ(set->keys[0].kid, "rsa-1");

    EXPECT_FALSE(parse_jwks(Json{{"keys", {enc, octet, off_curve}}}.dump()).ok());
    for (const char* text : {"", "{}", "[]", "{\"keys\": {}}", "{\"keys\": [", "null"}) {
        EXPECT_FALSE(parse_jwks(text).ok()) << text;
    }
    Json many = {{"keys", Json::array()}};
    for (size_t i = 0; i <= kMaxJwksKeys; ++i) many["keys"].push_back(rsa);
    EXPECT_EQ(parse_jwks(many.dump()).error(), "the JWKS has more keys than its limit");
    EXPECT_EQ(parse_jwks(std::string(kMaxJwksBytes + 1, ' ')).error(), "the JWKS is longer than its limit");
}

TEST(OidcNonce, IsDerivedFromTheFlowIdAlone) {
    EXPECT_EQ(oidc_nonce("abc"), oidc_nonce("abc"));
    EXPECT_NE(oidc_nonce("abc"), oidc_nonce("abd"));
    EXPECT_EQ(oidc_nonce("abc").size(), 43u);
    // BASE64URL(SHA-256("tokend-oidc-nonce\0abc")), computed with Python's hashlib.
    EXPECT_EQ(oidc_nonce("abc"), "YPUuN1JQKD6y6uhClvvCHo91C98lJPKivEFHnDsiOzc");
}

// The redirect flow with an OpenID Connect profile: the id_token of the code
// exchange is the identity, checked with the keys the edge looks up.
class RedirectFlowIdToken : public testing::Test {
protected:
    RedirectFlowIdToken() {
        EXPECT_TRUE(apply_provider_preset("google", &oauth_));
        oauth_.client_id = kClient;
        oauth_.provider.openid.issuer = kIssuer;
        oauth_.redirect_url = "http://127.0.0.1:6001/redirect";
        oauth_.scopes = {"openid", "email"};
    }

    // A flow "F1" for U1 up to the code exchange's answer.
    RedirectFlow::Step exchanged(RedirectFlow& flow, const Json& answer) {
        auto step = flow.begin("code=THE-CODE&state=F1");
        FlowState stored{"U1", kNow - std::chrono::seconds(10), Secret("VERIFIER"), Json::object()};
        step = flow.on_flow_taken(TakeOutcome::taken, to_stored_text(stored), kNow);
        EXPECT_EQ(step.kind, RedirectFlow::Step::Kind::http);
        return flow.on_http_response(200, answer.dump(), kNow);
    }

    Json answer(const std::string& sub) {
        Json claims = good_claims();
        claims["sub"] = sub;
        claims["nonce"] = oidc_nonce("F1");
        return {{"access_token", "ya29.AT"}, {"expires_in", 3599}, {"refresh_token", "1//RT"},
                {"token_type", "Bearer"}, {"id_token", rs256(claims)}};
    }

    OAuthSettings oauth_;
    FlowSettings flows_;
    MessageTexts texts_;
};

TEST_F(RedirectFlowIdToken, TheAuthorizationUrlCarriesTheFlowsNonceAndTheProfilesParameters) {
    const StartedFlow started = start_flow(oauth_, flows_, "U1", kNow, std::string(24, 'i'), std::string(32, 'v'));
    const std::string query = started.auth_url.substr(started.auth_url.find('?') + 1);
    auto fields = parse_query(query, {});
    ASSERT_TRUE(fields);
    EXPECT_EQ(*find_field(*fields, "nonce"), oidc_nonce(started.flow_id));
    EXPECT_EQ(*find_field(*fields, "access_type"), "offline");
    EXPECT_EQ(*find_field(*fields, "prompt"), "consent");
    EXPECT_EQ(started.auth_url.rfind("https://accounts.google.com/o/oauth2/v2/auth?", 0), 0u);
}

TEST_F(RedirectFlowIdToken, TheRightUserIsStored) {
    RedirectFlow flow(oauth_, flows_, texts_);
    auto step = exchanged(flow, answer("U1"));
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::keys);
    EXPECT_EQ(step.key_id, "rsa-1");
    const JsonWebKeySet keys = jwks();
    step = flow.on_keys(&keys, "", kNow);
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::store);
    EXPECT_EQ(step.context.user_id, "U1");
    EXPECT_EQ(step.context.tokens.refresh_token->reveal(), "1//RT");
}

TEST_F(RedirectFlowIdToken, AnotherUserOrABadTokenStoresNothing) {
    const JsonWebKeySet keys = jwks();
    RedirectFlow wrong(oauth_, flows_, texts_);
    exchanged(wrong, answer("U2"));
    auto step = wrong.on_keys(&keys, "", kNow);
    EXPECT_EQ(step.outcome, RedirectOutcome::wrong_user);
    EXPECT_NE(step.page.message.find("alice@example.com"), std::string::npos);

    RedirectFlow forged(oauth_, flows_, texts_);
    Json bad = answer("U1");
    bad["id_token"] = rs256(good_claims());  // the nonce of another flow
    exchanged(forged, bad);
    step = forged.on_keys(&keys, "", kNow);
    EXPECT_EQ(step.outcome, RedirectOutcome::provider_error);
    EXPECT_EQ(step.detail, "identity check failed: the id_token's nonce is not the flow's");

    RedirectFlow no_keys(oauth_, flows_, texts_);
    exchanged(no_keys, answer("U1"));
    step = no_keys.on_keys(nullptr, "GET https://keys: HTTP 503", kNow);
    EXPECT_EQ(step.outcome, RedirectOutcome::provider_error);

    RedirectFlow no_token(oauth_, flows_, texts_);
    Json without = answer("U1");
    without.erase("id_token");
    step = exchanged(no_token, without);
    EXPECT_EQ(step.outcome, RedirectOutcome::provider_error);
    EXPECT_NE(step.detail.find("no id_token"), std::string::npos);

    RedirectFlow garbage(oauth_, flows_, texts_);
    Json unreadable = answer("U1");
    unreadable["id_token"] = "not.a.token";
    step = exchanged(garbage, unreadable);
    EXPECT_EQ(step.outcome, RedirectOutcome::provider_error);
}

}  // namespace tokend
