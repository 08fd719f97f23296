#include "core/token_cipher.h"

#include "core/byte_encoding.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace tokend {
namespace {

constexpr std::string_view kPrefix = "enc:";
constexpr std::string_view kVersion = "v1";
constexpr std::string_view kAadLabel = "tokend-enc-v1";

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes_of(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

void append_length_prefixed(std::string* out, std::string_view part) {
    const auto size = static_cast<uint32_t>(part.size());
    out->push_back(static_cast<char>((size >> 24) & 0xFF));
    out->push_back(static_cast<char>((size >> 16) & 0xFF));
    out->push_back(static_cast<char>((size >> 8) & 0xFF));
    out->push_back(static_cast<char>(size & 0xFF));
    out->append(part);
}

}  // namespace

bool is_sealed_value(std::string_view value) { return value.substr(0, kPrefix.size()) == kPrefix; }

std::string check_key_id(std::string_view key_id) {
    if (key_id.empty()) return "a key id must not be empty";
    if (key_id.size() > kMaxKeyIdLength) return "a key id is at most 32 characters";
    for (char c : key_id) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                             c == '-' || c == '.';
        if (!allowed) return "a key id holds only A-Z a-z 0-9 _ - .";
    }
    return "";
}

Result<SealedValue> parse_sealed_value(std::string_view text) {
    if (!is_sealed_value(text)) return Result<SealedValue>::failure("not an encrypted value (no enc: prefix)");
    text.remove_prefix(kPrefix.size());
    const size_t version_end = text.find(':');
    if (version_end == std::string_view::npos || text.substr(0, version_end) != kVersion) {
        return Result<SealedValue>::failure("unknown encryption format version (tokend reads v1)");
    }
    text.remove_prefix(version_end + 1);
    const size_t key_end = text.find(':');
    if (key_end == std::string_view::npos) return Result<SealedValue>::failure("encrypted value has no key id");
    SealedValue value;
    value.key_id = std::string(text.substr(0, key_end));
    if (const std::string problem = check_key_id(value.key_id); !problem.empty()) {
        return Result<SealedValue>::failure("encrypted value has a malformed key id");
    }
    if (!base64_decode(text.substr(key_end + 1), Base64Input::url_unpadded, &value.payload)) {
        return Result<SealedValue>::failure("encrypted value is not valid base64url");
    }
    if (value.payload.size() < kTokenNonceBytes + kTokenTagBytes) {
        return Result<SealedValue>::failure("encrypted value is truncated");
    }
    return value;
}

std::string format_sealed_value(const SealedValue& value) {
    std::string text(kPrefix);
    text += kVersion;
    text += ':';
    text += value.key_id;
    text += ':';
    text += base64url_encode(value.payload);
    return text;
}

std::string sealed_value_aad(std::string_view key_id, std::string_view owner, std::string_view field) {
    std::string aad(kAadLabel);
    append_length_prefixed(&aad, key_id);
    append_length_prefixed(&aad, owner);
    append_length_prefixed(&aad, field);
    return aad;
}

std::string seal_value(std::string_view plaintext, std::string_view key, std::string_view key_id,
                       std::string_view nonce, std::string_view owner, std::string_view field) {
    if (key.size() != kTokenKeyBytes) throw std::invalid_argument("seal_value: the key must be 32 bytes");
    if (nonce.size() != kTokenNonceBytes) throw std::invalid_argument("seal_value: the nonce must be 12 bytes");
    if (!check_key_id(key_id).empty()) throw std::invalid_argument("seal_value: malformed key id");
    const std::string aad = sealed_value_aad(key_id, owner, field);
    CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    SealedValue sealed;
    sealed.key_id = std::string(key_id);
    sealed.payload.assign(nonce);
    sealed.payload.resize(kTokenNonceBytes + plaintext.size() + kTokenTagBytes);
    auto* out = reinterpret_cast<unsigned char*>(sealed.payload.data()) + kTokenNonceBytes;
    int written = 0;
    int finished = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kTokenNonceBytes), nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes_of(key), bytes_of(nonce)) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &written, bytes_of(aad), static_cast<int>(aad.size())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), out, &written, bytes_of(plaintext), static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), out + written, &finished) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTokenTagBytes),
                            out + plaintext.size()) != 1) {
        throw std::runtime_error("AES-256-GCM encryption failed in OpenSSL");
    }
    return format_sealed_value(sealed);
}

Result<std::string> open_sealed_value(const SealedValue& value, std::string_view key, std::string_view owner,
                                      std::string_view field) {
    if (key.size() != kTokenKeyBytes) return Result<std::string>::failure("the key is not 32 bytes");
    if (value.payload.size() < kTokenNonceBytes + kTokenTagBytes) {
        return Result<std::string>::failure("encrypted value is truncated");
    }
    const std::string_view payload(value.payload);
    const std::string_view nonce = payload.substr(0, kTokenNonceBytes);
    const std::string_view ciphertext =
        payload.substr(kTokenNonceBytes, payload.size() - kTokenNonceBytes - kTokenTagBytes);
    std::string tag(payload.substr(payload.size() - kTokenTagBytes));
    const std::string aad = sealed_value_aad(value.key_id, owner, field);
    CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    std::string plaintext(ciphertext.size(), '\0');
    int written = 0;
    int finished = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kTokenNonceBytes), nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes_of(key), bytes_of(nonce)) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &written, bytes_of(aad), static_cast<int>(aad.size())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &written,
                          bytes_of(ciphertext), static_cast<int>(ciphertext.size())) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTokenTagBytes), tag.data()) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + written, &finished) !=
            1) {
        return Result<std::string>::failure(
            "does not decrypt (wrong key, or the value was altered, truncated or copied from another user or field)");
    }
    return plaintext;
}

const Secret* TokenKeyRing::find(std::string_view key_id) const {
    auto it = keys.find(std::string(key_id));
    return it == keys.end() ? nullptr : &it->second;
}

std::string OpenFailure::describe() const {
    std::string text = field;
    if (!key_id.empty()) text += " under key id " + key_id;
    return text + ": " + reason;
}

Result<std::string> open_with_ring(const TokenKeyRing& ring, std::string_view value, std::string_view owner,
                                   std::string_view field, OpenFailure* failure) {
    if (!is_sealed_value(value)) return std::string(value);
    failure->field = std::string(field);
    failure->key_id.clear();
    auto parsed = parse_sealed_value(value);
    if (!parsed) {
        failure->reason = parsed.error();
        return Result<std::string>::failure(failure->describe());
    }
    failure->key_id = parsed->key_id;
    const Secret* key = ring.find(parsed->key_id);
    if (key == nullptr) {
        failure->reason = ring.keys.empty() ? "encryption is not configured (no key ring)" : "no such key in the key ring";
        return Result<std::string>::failure(failure->describe());
    }
    auto opened = open_sealed_value(*parsed, key->reveal(), owner, field);
    if (!opened) {
        failure->reason = opened.error();
        return Result<std::string>::failure(failure->describe());
    }
    return opened;
}

Result<Secret> parse_key_text(std::string_view text) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    std::string key;
    if (text.size() == 2 * kTokenKeyBytes) {
        bool hex = true;
        for (size_t i = 0; i < text.size() && hex; i += 2) {
            const int high = hex_digit_value(text[i]);
            const int low = hex_digit_value(text[i + 1]);
            hex = high >= 0 && low >= 0;
            key.push_back(static_cast<char>((high << 4) | (low & 0xF)));
        }
        if (hex) return Secret(std::move(key));
        key.clear();
    }
    if (!base64_decode(text, Base64Input::any, &key)) {
        return Result<Secret>::failure("a key file holds 64 hex digits or the base64 of 32 bytes");
    }
    if (key.size() != kTokenKeyBytes) {
        return Result<Secret>::failure("the key is " + std::to_string(key.size()) + " bytes, not 32");
    }
    return Secret(std::move(key));
}

}  // namespace tokend
