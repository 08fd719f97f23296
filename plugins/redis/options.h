// The redis store's options, parsed from the JSON object the operator wrote
// (store.options in tokend.yml). docs/redis.md documents each one.
#pragma once

#include "option_helpers.h"
#include "status.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace tokend::redis_store {

// Where Redis is and how to log in. Either unix_path or host is set.
struct Endpoint {
    std::string unix_path;
    std::string host;
    uint16_t port = 6379;
    int db = 0;
    std::string username;  // empty: AUTH with the password only (the "default" user)
    std::string password;  // empty: no AUTH

    // "127.0.0.1:6379" or "unix:/run/redis.sock": for messages, never with credentials.
    std::string describe() const;
};

struct Options {
    Endpoint endpoint;
    std::string key_prefix;            // put before every key and the channel; "" as the original
    std::string channel = "tokend-changes";  // pub/sub channel for change notifications (under the prefix)
    uint32_t connect_timeout_ms = 1000;
    uint32_t command_timeout_ms = 1000;
    bool url_ignored = false;          // redis_host and redis_url were both given: the host won
};

// Fills *out from config_json. TOKEND_INVALID names the offending option.
// With problems (validate_options) every bad option is recorded and the parse
// goes on; the checks between options (a URL or a host, password or
// password_file, the password file read) run only when each option was good.
// It never connects: validate_options is this parse and nothing more.
Status parse_options(std::string_view config_json, Options* out,
                     plugin_support::OptionProblems* problems = nullptr);

// Parses redis://[user:password@]host[:port][/db] or unix:///path into *out.
// rediss:// is refused: hiredis 0.14 has no TLS (docs/redis.md shows stunnel).
Status parse_url(std::string_view url, Endpoint* out);

}  // namespace tokend::redis_store
