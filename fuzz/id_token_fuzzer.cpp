// parse_jwks, read_id_token_header and verify_id_token (core/id_token): the
// provider's JWKS and the id_token of a code exchange. Checks: a parsed JWKS
// stays within its limits and holds only usable RS256/ES256 keys; a header
// read has one of those algs; and no input is ever accepted as an id_token,
// neither against the fuzzed JWKS (its keys' private halves are unknown, and
// e = 1 or an even e is refused) nor against a key made here whose private half
// the fuzzer never sees: an accepted token would be a forgery.
#include "fuzz_check.h"

#include "core/byte_encoding.h"
#include "core/id_token.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

namespace {

using namespace tokend;

std::string base64url_of(EVP_PKEY* key, const char* name) {
    BIGNUM* value = nullptr;
    EVP_PKEY_get_bn_param(key, name, &value);
    std::string bytes(static_cast<size_t>(BN_num_bytes(value)), '\0');
    BN_bn2bin(value, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(value);
    return base64url_encode(bytes);
}

const JsonWebKeySet& secret_keys() {
    static const JsonWebKeySet keys = [] {
        EVP_PKEY* key = EVP_RSA_gen(2048);
        const nlohmann::json doc = {{"keys", {{{"kty", "RSA"}, {"kid", "k1"}, {"n", base64url_of(key, OSSL_PKEY_PARAM_RSA_N)},
                                                {"e", base64url_of(key, OSSL_PKEY_PARAM_RSA_E)}}}}};
        EVP_PKEY_free(key);
        return parse_jwks(doc.dump()).value();
    }();
    return keys;
}

}  // namespace

// The input: the JWKS text, "\n----\n", the id_token, "\n----\n", the nonce's flow id.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Fields in(fuzz::as_text(data, size));
    const std::string_view jwks_text = in.next();
    const std::string_view token = in.next();
    const std::string flow_id(in.next());
    const IdTokenExpectations expect{"https://accounts.google.com", "client", oidc_nonce(flow_id),
                                     Timestamp(std::chrono::seconds(1'800'000'000))};

    const auto jwks = parse_jwks(jwks_text);
    if (jwks) {
        FUZZ_CHECK(!jwks->keys.empty() && jwks->keys.size() <= kMaxJwksKeys);
        for (const JsonWebKey& key : jwks->keys) {
            FUZZ_CHECK(key.key != nullptr);
            FUZZ_CHECK(key.alg == "RS256" || key.alg == "ES256");
        }
        FUZZ_CHECK(!verify_id_token(token, *jwks, expect));
    } else {
        FUZZ_CHECK(!jwks.error().empty());
    }
    const auto header = read_id_token_header(token);
    if (header) FUZZ_CHECK(header->alg == "RS256" || header->alg == "ES256");
    const auto verified = verify_id_token(token, secret_keys(), expect);
    FUZZ_CHECK(!verified);
    FUZZ_CHECK(verified.error().find(std::string(token)) == std::string::npos || token.size() < 8);
    return 0;
}
