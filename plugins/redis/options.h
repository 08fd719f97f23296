// The redis store's options, parsed from the JSON object the operator wrote
// (store.options in tokend.yml). docs/redis.md documents each one.
#pragma once

#include "option_helpers.h"
#include "status.h"
#include "tls.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::redis_store {

// Where Redis is and how to log in. Either unix_path or host is set.
struct Endpoint {
    std::string unix_path;
    std::string host;
    uint16_t port = 6379;
    int db = 0;
    std::string username;  // empty: AUTH with the password only (the "default" user)
    std::string password;  // empty: no AUTH
    bool tls = false;      // rediss:// or the option tls: true
    // Set by parse_options when tls: the shared TLS context every connection uses.
    std::shared_ptr<const TlsClient> tls_client;

    // "127.0.0.1:6379" or "unix:/run/redis.sock": for messages, never with credentials.
    std::string describe() const;
};

struct SentinelAddress {
    std::string host;
    uint16_t port = 26379;
};

class MasterTracker;  // sentinel.h

struct Options {
    Endpoint endpoint;
    std::string key_prefix;            // put before every key and the channel; "" as the original
    std::string channel = "tokend-changes";  // pub/sub channel for change notifications (under the prefix)
    uint32_t connect_timeout_ms = 1000;
    uint32_t command_timeout_ms = 1000;
    TlsOptions tls;                    // the tls_* options; used when endpoint.tls
    // Sentinel: the sentinels to ask and the master's name; then endpoint gives
    // only the credentials, database and TLS, and `master` (set by the store at
    // open) says where the master is now.
    std::vector<SentinelAddress> sentinels;
    std::string sentinel_master;
    std::shared_ptr<MasterTracker> master;
    bool url_ignored = false;          // redis_host and redis_url were both given: the host won
    // Durability of user contexts (refreshed tokens, grants): after each such
    // write, WAIT for this many replicas (0: off) at most wait_timeout_ms. When
    // they do not all answer in time, wait_required makes the write fail
    // (UNAVAILABLE: on the master, not known to be durable); else it is logged.
    uint32_t wait_replicas = 0;
    uint32_t wait_timeout_ms = 500;
    bool wait_required = true;         // wait_on_timeout: "fail" (true) or "warn"
};

// Fills *out from config_json. TOKEND_INVALID names the offending option.
// With problems (validate_options) every bad option is recorded and the parse
// goes on; the checks between options (a URL or a host, password or
// password_file, the password file read) run only when each option was good.
// It never connects: validate_options is this parse and nothing more.
Status parse_options(std::string_view config_json, Options* out,
                     plugin_support::OptionProblems* problems = nullptr);

// Parses redis[s]://[user:password@]host[:port][/db] or unix:///path into *out.
// rediss:// sets tls (the TLS options come from parse_options).
Status parse_url(std::string_view url, Endpoint* out);

}  // namespace tokend::redis_store
