// parse_jwks, read_id_token_header and verify_id_token (core/id_token): the
// provider's JWKS and the id_token of a code exchange. Checks: a parsed JWKS
// stays within its limits and holds only usable RS256/ES256 keys; a header
// read has one of those algs; and no input is ever accepted as an id_token,
// neither against the fuzzed JWKS (its keys' private halves are unknown, and
// e = 1 or an even e is refused) nor against a fixed key whose private half
// nobody holds: an accepted token would be a forgery; and an error never
// repeats the token.
#include "fuzz_check.h"

#include "core/id_token.h"

#include <nlohmann/json.hpp>

namespace {

using namespace tokend;

// An RSA-2048 public key whose private half was discarded when it was made
// (openssl genrsa, 2026-12-05). Fixed, not made at each start: a key made per
// run fed its random bytes to libFuzzer's comparison hooks, so a --ci run with
// a fixed seed took other mutations each time.
constexpr const char* kSecretKeyModulus =
    "krrtB02F6jbUfZbu06pgr60P_5vdERbkyrR0dgFPuQ8suq4b7DzSyqLHD16WQn7XZ50rsAa_uTkLjkWO1QYK_33ErbFfN_Eg"
    "QvVIYvo8MesS_ESwfBjROIA2hc2GEsTOFDTO0cSSso8FhGzugcr2SPTxJjZO5sP3Q1mxx3YAVFHFnO8rv0tMQFat3PHeTRcQ"
    "AAhI0SMYVOqGugJvMFWhlgzftOZJI7ZHqIvDaVgM_LS-qUuX9rOBy0PsZtueq7dgLBeE1skCArMxirOGncti4WDkDB7LKTQo"
    "gY1N7N0Opj8S6cfAmvqPOlY4WmnCvgxR7a4tVRj5AxDOM-3wGkFV7w";

const JsonWebKeySet& secret_keys() {
    static const JsonWebKeySet keys = [] {
        const nlohmann::json doc = {{"keys", {{{"kty", "RSA"}, {"kid", "k1"}, {"n", kSecretKeyModulus}, {"e", "AQAB"}}}}};
        return parse_jwks(doc.dump()).value();
    }();
    return keys;
}

// Only what a JWS compact token is made of: base64url and the dots.
bool token_shaped(std::string_view text) {
    for (const char c : text) {
        const bool base64url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                               c == '_';
        if (!base64url && c != '.') return false;
    }
    return true;
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
    // The error never repeats the token. Checked for token-shaped inputs of 16
    // bytes or more: every error is fixed text, whose longest run of
    // base64url characters is a word ("extensions"), so a shorter input or one
    // with a space could be a piece of the message itself.
    if (token.size() >= 16 && token_shaped(token)) {
        FUZZ_CHECK(verified.error().find(std::string(token)) == std::string::npos);
    }
    return 0;
}
