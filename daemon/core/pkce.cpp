#include "core/pkce.h"

#include <openssl/sha.h>

#include <stdexcept>

namespace tokend {

std::string make_flow_id(std::string_view random_bytes) {
    if (random_bytes.size() != kFlowIdBytes) throw std::invalid_argument("flow id needs 24 random bytes");
    return base64url_encode(random_bytes);
}

std::string make_code_verifier(std::string_view random_bytes) {
    if (random_bytes.size() != kCodeVerifierBytes) throw std::invalid_argument("verifier needs 32 random bytes");
    return base64url_encode(random_bytes);
}

std::string s256_challenge(std::string_view code_verifier) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(code_verifier.data()), code_verifier.size(), digest);
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace tokend
