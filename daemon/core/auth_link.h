// Links that outlive a flow (docs/protocol.md, auth_link): a URL on tokend's
// public listener, GET /auth?u=..&e=..&s=.., that carries a user id and an
// expiry, signed with HMAC-SHA256 under a key only tokend holds. Opening it
// starts a fresh flow for that user; the identity check at the end of the flow
// still binds the grant to that user. Pure: the key and the time come in.
#pragma once

#include "core/html_page.h"
#include "core/iso_time.h"
#include "core/secret.h"

#include <chrono>
#include <string>
#include <string_view>

namespace tokend {

// The route on the public listener.
constexpr std::string_view kAuthLinkPath = "/auth";
// Keys shorter than this are refused (HMAC-SHA256's block of security).
constexpr size_t kMinLinkKeyBytes = 32;

struct LinkSettings {
    std::chrono::seconds ttl{7 * 86400};  // how long a link works
    std::string url;                       // public URL of GET /auth; empty: derived from the redirect URL
    std::string key_file;                  // empty: <state_dir>/link.key, made at first start
};

// The query of a link for user_id that works until expires_at (whole seconds).
std::string sign_auth_link(const Secret& key, std::string_view user_id, Timestamp expires_at);

// The whole URL: base (the public URL of GET /auth) plus the signed query.
std::string auth_link_url(std::string_view base, const Secret& key, std::string_view user_id, Timestamp expires_at);

struct LinkCheck {
    enum class Status { valid, expired, invalid };
    Status status = Status::invalid;
    std::string user_id;   // valid or expired
    Timestamp expires_at;  // valid or expired
    std::string detail;    // why invalid, for the log (never a value from the link)
};

// Checks a link's query string at `now`. The signature is checked before the
// expiry, so a link whose expiry was edited is invalid, not expired.
LinkCheck verify_auth_link(const Secret& key, std::string_view query, Timestamp now);

// The default public URL of GET /auth: the redirect URL with its last path
// segment replaced by "auth" (https://bot.example.com/redirect ->
// https://bot.example.com/auth); query and fragment dropped.
std::string default_link_url(std::string_view redirect_url);

// The pages a browser gets for a link that does not start a flow.
HtmlPage link_page(LinkCheck::Status status);

}  // namespace tokend
