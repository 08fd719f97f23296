// The one rule for URLs the client secret and tokens travel to (provider
// endpoints, an OpenID Connect issuer): https://, or http:// only to a
// loopback host (127.0.0.0/8, ::1, localhost), where tests and local
// proxies live. Pure string checks, no I/O (inet_pton only parses).
#pragma once

#include <string>
#include <string_view>

namespace tokend {

// The host of an http(s):// URL, without userinfo, port or IPv6 brackets.
std::string url_host(std::string_view url);

// 127.0.0.0/8, ::1, localhost (any case, with or without the final dot).
bool is_loopback_host(std::string host);

// https://, or http:// to a loopback host only.
bool is_provider_url(std::string_view url);

// What is wrong with an OpenID Connect issuer identifier ("" when nothing):
// a provider URL (above) without query or fragment (OpenID Connect Discovery
// 1.0 section 2).
std::string issuer_problem(std::string_view issuer);

// Where the issuer's discovery document is: the issuer without a trailing
// "/", then "/.well-known/openid-configuration" (Discovery 1.0 section 4).
std::string discovery_url(std::string_view issuer);

}  // namespace tokend
