#include "core/id_token.h"

#include "core/byte_encoding.h"
#include "core/json_limits.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cmath>

namespace tokend {
namespace {

using Bignum = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using Params = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
using KeyContext = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using EcdsaSignature = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

constexpr int kMinRsaBits = 2048;
constexpr size_t kP256CoordinateBytes = 32;

const unsigned char* bytes_of(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

// A JWK member holding base64url bytes (RFC 7518 6.2, 6.3: n, e, x, y).
bool key_bytes(const Json& jwk, const char* name, std::string* out) {
    const auto found = jwk.find(name);
    return found != jwk.end() && found->is_string() && !found->get_ref<const std::string&>().empty() &&
           base64_decode(found->get_ref<const std::string&>(), Base64Input::any, out) && !out->empty();
}

// A public key from OSSL_PARAMs (OpenSSL 3: EVP_PKEY_fromdata), or nullptr.
std::shared_ptr<EVP_PKEY> key_from_params(const char* type, OSSL_PARAM_BLD* builder) {
    const Params params(OSSL_PARAM_BLD_to_param(builder), OSSL_PARAM_free);
    const KeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* key = nullptr;
    if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
        EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::shared_ptr<EVP_PKEY> rsa_key(const Json& jwk) {
    std::string n, e;
    if (!key_bytes(jwk, "n", &n) || !key_bytes(jwk, "e", &e) || e.size() > 8) return nullptr;
    const Bignum modulus(BN_bin2bn(bytes_of(n), static_cast<int>(n.size()), nullptr), BN_free);
    const Bignum exponent(BN_bin2bn(bytes_of(e), static_cast<int>(e.size()), nullptr), BN_free);
    const ParamBuilder builder(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    // An even exponent or 1 is no RSA key (with e = 1 anyone could "sign").
    if (!modulus || !exponent || !BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) return nullptr;
    if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
        return nullptr;
    }
    auto key = key_from_params("RSA", builder.get());
    if (key && EVP_PKEY_get_bits(key.get()) < kMinRsaBits) return nullptr;
    return key;
}

std::shared_ptr<EVP_PKEY> p256_key(const Json& jwk) {
    std::string x, y;
    if (!key_bytes(jwk, "x", &x) || !key_bytes(jwk, "y", &y) || x.size() != kP256CoordinateBytes ||
        y.size() != kP256CoordinateBytes) {
        return nullptr;
    }
    const std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
    const ParamBuilder builder(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    if (!builder ||
        OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
        return nullptr;
    }
    auto key = key_from_params("EC", builder.get());
    if (!key) return nullptr;
    // A point off the curve is refused (invalid-curve attacks).
    const KeyContext check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr), EVP_PKEY_CTX_free);
    if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
    return key;
}

const std::string* string_member(const Json& object, const char* name) {
    const auto found = object.find(name);
    return found != object.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
}

// A part of the compact form decoded and parsed as a JSON object.
bool json_part(std::string_view part, Json* out) {
    std::string bytes;
    if (!base64_decode(part, Base64Input::url_unpadded, &bytes)) return false;
    *out = parse_bounded_json(bytes);
    return out->is_object();
}

struct CompactJws {
    std::string_view signing_input;  // header.payload
    std::string_view header, payload, signature;
};

Result<CompactJws> split_compact(std::string_view token) {
    using Failure = Result<CompactJws>;
    if (token.empty()) return Failure::failure("no id_token");
    if (token.size() > kMaxIdTokenBytes) return Failure::failure("the id_token is longer than its limit");
    const size_t first = token.find('.');
    const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        return Failure::failure("the id_token is not in the JWS compact form (three parts)");
    }
    CompactJws jws;
    jws.signing_input = token.substr(0, second);
    jws.header = token.substr(0, first);
    jws.payload = token.substr(first + 1, second - first - 1);
    jws.signature = token.substr(second + 1);
    return jws;
}

Result<IdTokenHeader> header_of(std::string_view header_part) {
    using Failure = Result<IdTokenHeader>;
    Json header;
    if (!json_part(header_part, &header)) return Failure::failure("the id_token's header is not base64url JSON");
    const std::string* alg = string_member(header, "alg");
    if (alg == nullptr) return Failure::failure("the id_token's header has no alg");
    if (*alg != "RS256" && *alg != "ES256") return Failure::failure("the id_token's alg is not RS256 or ES256");
    // RFC 7515 4.1.11: an extension we do not understand must be refused.
    if (header.contains("crit")) return Failure::failure("the id_token's header has crit extensions");
    IdTokenHeader read;
    read.alg = *alg;
    if (header.contains("kid")) {
        const std::string* kid = string_member(header, "kid");
        if (kid == nullptr) return Failure::failure("the id_token's kid is not a string");
        read.kid = *kid;
    }
    return read;
}

// ES256 signatures are r || s (RFC 7518 3.4); EVP wants DER.
bool der_ecdsa_signature(std::string_view raw, std::string* der) {
    if (raw.size() != 2 * kP256CoordinateBytes) return false;
    EcdsaSignature signature(ECDSA_SIG_new(), ECDSA_SIG_free);
    BIGNUM* r = BN_bin2bn(bytes_of(raw), kP256CoordinateBytes, nullptr);
    BIGNUM* s = BN_bin2bn(bytes_of(raw.substr(kP256CoordinateBytes)), kP256CoordinateBytes, nullptr);
    if (!signature || r == nullptr || s == nullptr || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return false;
    }
    unsigned char* out = nullptr;
    const int size = i2d_ECDSA_SIG(signature.get(), &out);
    if (size <= 0) return false;
    der->assign(reinterpret_cast<const char*>(out), static_cast<size_t>(size));
    OPENSSL_free(out);
    return true;
}

bool signature_valid(const JsonWebKey& key, std::string_view signing_input, std::string_view signature) {
    std::string der;
    if (key.alg == "ES256") {
        if (!der_ecdsa_signature(signature, &der)) return false;
        signature = der;
    }
    const DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    return context && EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) == 1 &&
           EVP_DigestVerify(context.get(), bytes_of(signature), signature.size(), bytes_of(signing_input),
                            signing_input.size()) == 1;
}

// A NumericDate claim (seconds since the epoch; may have a fraction).
bool numeric_date(const Json& claims, const char* name, double* seconds) {
    const auto found = claims.find(name);
    if (found == claims.end() || !found->is_number()) return false;
    *seconds = found->get<double>();
    return std::isfinite(*seconds);
}

double seconds_of(Timestamp time) {
    return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

const JsonWebKey* JsonWebKeySet::find(std::string_view alg, std::string_view kid) const {
    const JsonWebKey* only = nullptr;
    size_t of_alg = 0;
    for (const JsonWebKey& key : keys) {
        if (key.alg != alg) continue;
        if (!kid.empty() && key.kid == kid) return &key;
        ++of_alg;
        only = &key;
    }
    return kid.empty() && of_alg == 1 ? only : nullptr;
}

Result<JsonWebKeySet> parse_jwks(std::string_view text) {
    using Failure = Result<JsonWebKeySet>;
    if (text.size() > kMaxJwksBytes) return Failure::failure("the JWKS is longer than its limit");
    const Json json = parse_bounded_json(text);
    const auto keys = json.is_object() ? json.find("keys") : json.end();
    if (!json.is_object() || keys == json.end() || !keys->is_array()) {
        return Failure::failure("the JWKS is not a JSON object with a keys array");
    }
    if (keys->size() > kMaxJwksKeys) return Failure::failure("the JWKS has more keys than its limit");
    JsonWebKeySet set;
    for (const Json& jwk : *keys) {
        if (!jwk.is_object()) continue;
        const std::string* kty = string_member(jwk, "kty");
        const std::string* use = string_member(jwk, "use");
        const std::string* alg = string_member(jwk, "alg");
        const std::string* kid = string_member(jwk, "kid");
        const std::string* crv = string_member(jwk, "crv");
        if (kty == nullptr || (use != nullptr && *use != "sig")) continue;
        JsonWebKey key;
        if (*kty == "RSA") {
            key.alg = "RS256";
            key.key = rsa_key(jwk);
        } else if (*kty == "EC" && crv != nullptr && *crv == "P-256") {
            key.alg = "ES256";
            key.key = p256_key(jwk);
        }
        // A key that names its alg is used for that alg only (RFC 7517 4.4).
        if (!key.key || (alg != nullptr && *alg != key.alg)) continue;
        if (kid != nullptr) key.kid = *kid;
        set.keys.push_back(std::move(key));
    }
    if (set.keys.empty()) return Failure::failure("the JWKS has no usable RS256 or ES256 key");
    return set;
}

Result<IdTokenHeader> read_id_token_header(std::string_view token) {
    auto jws = split_compact(token);
    if (!jws) return Result<IdTokenHeader>::failure(jws.error());
    return header_of(jws->header);
}

Result<IdTokenClaims> verify_id_token(std::string_view token, const JsonWebKeySet& keys,
                                      const IdTokenExpectations& expect) {
    using Failure = Result<IdTokenClaims>;
    auto jws = split_compact(token);
    if (!jws) return Failure::failure(jws.error());
    auto header = header_of(jws->header);
    if (!header) return Failure::failure(header.error());
    const JsonWebKey* key = keys.find(header->alg, header->kid);
    if (key == nullptr) return Failure::failure("no key in the JWKS for the id_token's kid and alg");
    std::string signature;
    if (!base64_decode(jws->signature, Base64Input::url_unpadded, &signature) || signature.empty()) {
        return Failure::failure("the id_token's signature is not base64url");
    }
    if (!signature_valid(*key, jws->signing_input, signature)) {
        return Failure::failure("the id_token's signature does not verify");
    }
    // Only signed claims are read from here on.
    Json claims;
    if (!json_part(jws->payload, &claims)) return Failure::failure("the id_token's claims are not base64url JSON");
    const std::string* issuer = string_member(claims, "iss");
    if (issuer == nullptr || *issuer != expect.issuer) return Failure::failure("the id_token's iss is not the issuer");
    const auto audience = claims.find("aud");
    bool audience_ok = false;
    if (audience != claims.end() && audience->is_string()) {
        audience_ok = audience->get_ref<const std::string&>() == expect.client_id;
    } else if (audience != claims.end() && audience->is_array()) {
        audience_ok = std::any_of(audience->begin(), audience->end(),
                                  [&](const Json& item) { return item.is_string() && item == expect.client_id; });
    }
    if (!audience_ok) return Failure::failure("the id_token's aud does not hold the client_id");
    if (claims.contains("azp")) {
        const std::string* party = string_member(claims, "azp");
        if (party == nullptr || *party != expect.client_id) return Failure::failure("the id_token's azp is not the client_id");
    }
    double expires = 0, issued = 0;
    const double now = seconds_of(expect.now);
    const double skew = static_cast<double>(expect.skew.count());
    if (!numeric_date(claims, "exp", &expires)) return Failure::failure("the id_token has no exp");
    if (expires + skew <= now) return Failure::failure("the id_token has expired");
    if (!numeric_date(claims, "iat", &issued)) return Failure::failure("the id_token has no iat");
    if (issued > now + skew) return Failure::failure("the id_token's iat is in the future");
    const std::string* nonce = string_member(claims, "nonce");
    if (nonce == nullptr || expect.nonce.empty() || *nonce != expect.nonce) {
        return Failure::failure("the id_token's nonce is not the flow's");
    }
    const std::string* subject = string_member(claims, "sub");
    if (subject == nullptr || subject->empty()) return Failure::failure("the id_token has no sub");
    IdTokenClaims read;
    read.subject = *subject;
    if (const std::string* email = string_member(claims, "email")) read.email = *email;
    if (const std::string* name = string_member(claims, "name")) read.name = *name;
    return read;
}

std::string oidc_nonce(std::string_view flow_id) {
    std::string input = std::string("tokend-oidc-nonce") + '\0';
    input.append(flow_id);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace tokend
