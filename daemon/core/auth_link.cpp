#include "core/auth_link.h"

#include "core/pkce.h"
#include "core/url_encoding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tokend {
namespace {

constexpr std::string_view kDomain = "tokend auth_link v1";

long long unix_seconds(Timestamp at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

std::string mac(const Secret& key, std::string_view user_id, long long expires) {
    // Domain, user id and expiry, unambiguous: the user id is length-prefixed.
    const std::string message = std::string(kDomain) + "\n" + std::to_string(user_id.size()) + ":" +
                                std::string(user_id) + "\n" + std::to_string(expires);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const std::string& bytes = key.reveal();
    HMAC(EVP_sha256(), bytes.data(), static_cast<int>(bytes.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    return std::string(reinterpret_cast<const char*>(digest), length);
}

bool parse_seconds(std::string_view text, long long* out) {
    if (text.empty() || text.size() > 12) return false;
    long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    *out = value;
    return true;
}

}  // namespace

std::string sign_auth_link(const Secret& key, std::string_view user_id, Timestamp expires_at) {
    const long long expires = unix_seconds(expires_at);
    return form_encode(FormFields{{"u", base64url_encode(user_id)},
                                  {"e", std::to_string(expires)},
                                  {"s", base64url_encode(mac(key, user_id, expires))}});
}

std::string auth_link_url(std::string_view base, const Secret& key, std::string_view user_id, Timestamp expires_at) {
    const char joiner = base.find('?') == std::string_view::npos ? '?' : '&';
    return std::string(base) + joiner + sign_auth_link(key, user_id, expires_at);
}

LinkCheck verify_auth_link(const Secret& key, std::string_view query, Timestamp now) {
    LinkCheck check;
    auto fields = parse_query(query, {"u", "e", "s"});
    if (!fields) {
        check.detail = "malformed query";
        return check;
    }
    const std::string* u = find_field(*fields, "u");
    const std::string* e = find_field(*fields, "e");
    const std::string* s = find_field(*fields, "s");
    if (!u || !e || !s) {
        check.detail = "a field is missing";
        return check;
    }
    std::string user_id, signature;
    long long expires = 0;
    if (!base64_decode(*u, Base64Input::url_unpadded, &user_id) || user_id.empty() || !parse_seconds(*e, &expires) ||
        !base64_decode(*s, Base64Input::url_unpadded, &signature)) {
        check.detail = "a field is malformed";
        return check;
    }
    const std::string expected = mac(key, user_id, expires);
    if (signature.size() != expected.size() || CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
        check.detail = "bad signature";
        return check;
    }
    check.user_id = std::move(user_id);
    check.expires_at = Timestamp{} + std::chrono::seconds(expires);
    check.status = now < check.expires_at ? LinkCheck::Status::valid : LinkCheck::Status::expired;
    return check;
}

std::string default_link_url(std::string_view redirect_url) {
    std::string_view url = redirect_url.substr(0, redirect_url.find_first_of("?#"));
    const size_t scheme = url.find("://");
    const size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    if (path == std::string_view::npos) return std::string(url) + "/auth";
    return std::string(url.substr(0, url.rfind('/'))) + "/auth";
}

HtmlPage link_page(LinkCheck::Status status) {
    switch (status) {
        case LinkCheck::Status::expired:
            return {410, "Link expired",
                    "This authorization link has expired. Please ask the bot for a new one."};
        case LinkCheck::Status::invalid:
            return {400, "Invalid link",
                    "This authorization link is not valid (it may have been cut short or changed). "
                    "Please open the link from the bot's message again, or ask the bot for a new one."};
        case LinkCheck::Status::valid:
            break;
    }
    return {500, "Error", "Something went wrong. Please ask the bot for a new link."};
}

}  // namespace tokend
