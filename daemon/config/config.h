// tokend's configuration: what etc/tokend.yml may hold, its defaults, and the
// parser that refuses unknown keys with their name and line. Parsing reads
// nothing but the text: secrets are named here (file or environment variable)
// and read by the daemon at start.
#pragma once

#include "core/auth_link.h"
#include "core/oauth_settings.h"
#include "core/refresh_policy.h"
#include "core/token_endpoint_gate.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// A configuration problem, already phrased for the operator ("file:line: what").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where a secret comes from. Exactly one of the two is set when configured;
// neither means "the systemd credential of that name, if any".
struct SecretSource {
    std::string file;  // read at start (and on reload); trailing newline dropped
    std::string env;   // name of an environment variable
    std::string credential_name;  // file name under $CREDENTIALS_DIRECTORY tried last
};

struct StoreConfig {
    std::string plugin = "yaml";  // a name looked up in plugin_dir, or a path
    std::string plugin_dir;       // empty: the compiled-in directory
    nlohmann::ordered_json options = nlohmann::ordered_json::object();  // given to the plugin as JSON
    // A store shared with other processes is read whole this often, so that a
    // change nobody announced (a Python bot's write) reaches the cache; zero
    // (the default: a pass is not cheap, docs/benchmarks.md): only after a
    // reconnect. Ignored for unshared stores.
    std::chrono::seconds resync_interval{0};
};

struct LogConfig {
    std::string level = "info";   // trace, debug, info, warning, error ("warn" is read as warning)
    std::string format = "auto";  // auto (journal under systemd, else text), text, json
};

struct IntegrationConfig {
    // The name control requests and metrics use (docs/providers.md, "Several
    // integrations"): [a-z0-9_-], 1 to 32 characters. The `integration:`
    // section's is "default".
    std::string name = "default";
    bool configured = false;  // false: no OAuth integration; start_flow is refused
    OAuthSettings oauth;      // client_secret is filled at start from client_secret_source
    SecretSource client_secret_source{"", "", "client_secret"};
    SecretSource bot_token_source{"", "", "bot_token"};
    // Each request to the provider (token endpoint, people/me, messages) gives up after this.
    std::chrono::milliseconds request_timeout{15000};
    // An `integrations:` entry's own `messages:` (key -> text), over the
    // top-level ones (messages_of).
    std::map<std::string, std::string> message_texts;
};

struct HttpListen {
    std::string host;
    int port = 0;
};

struct HttpConfig {
    std::vector<HttpListen> listen = {{"127.0.0.1", 6001}};
    size_t max_connections = 1024;
    std::chrono::milliseconds request_timeout{10000};
    std::chrono::milliseconds idle_timeout{30000};
};

// Who may use the control socket, by class of operation. An empty list on both
// means everyone who can open the socket (its mode and group decide).
struct AccessList {
    std::vector<long> uids;
    std::vector<long> gids;
    bool open() const { return uids.empty() && gids.empty(); }
};

struct ControlConfig {
    std::string socket;  // default: <runtime_dir>/tokend.sock
    unsigned mode = 0660;
    std::string group;   // empty: the daemon's group
    size_t max_line_bytes = 64 * 1024;
    size_t max_connections = 1024;
    std::chrono::milliseconds idle_timeout{300000};
    AccessList read;
    AccessList write;
    // Callers that may see refresh tokens (get_user_context); nobody by default.
    AccessList refresh_token_readers;
    bool refresh_token_readers_set = false;
};

// When tokens are refreshed, and how hard tokend may press the token endpoint.
struct RefreshConfig {
    RefreshPolicy policy;
    TokenEndpointLimits limits;
};

// GET /metrics (Prometheus text format) on listeners of its own, apart from
// the public redirect endpoint. Empty: no metrics listener.
struct MetricsConfig {
    std::vector<HttpListen> listen;
};

// Encryption at rest of tokens and PKCE verifiers (docs/encryption.md): key
// files named here, read at start; none: values are stored in plain text.
struct EncryptionKeySource {
    std::string id;         // written into every value sealed with it
    SecretSource source;    // file, or credential_name under $CREDENTIALS_DIRECTORY
};

struct EncryptionConfig {
    std::string active_key;  // writes; empty: plain text (the downgrade, or off)
    std::vector<EncryptionKeySource> keys;  // reads
};

struct Config {
    std::string state_dir;    // where the embedded default keeps its files
    std::string runtime_dir;  // where the control socket goes by default
    LogConfig log;
    StoreConfig store;
    IntegrationConfig integration;  // the default integration (`integration:`, or the default of `integrations:`)
    // The other entries of `integrations:`, in file order; their users' store
    // keys are "<name>/<user_id>" (core/integrations.h).
    std::vector<IntegrationConfig> other_integrations;
    FlowSettings flows;
    LinkSettings links;  // auth_link: signed links that start a flow
    RefreshConfig refresh;
    MessageTexts messages;
    HttpConfig http;
    ControlConfig control;
    MetricsConfig metrics;
    EncryptionConfig encryption;
    // Where each key stands in the file ("store.options.path" -> 12, 1-based;
    // three levels deep at most), for problems found after parsing (a plugin's
    // verdict on its options, an unreadable secret file). Empty for the embedded
    // default.
    std::map<std::string, int> key_lines;
};

// Every problem of one configuration text, not only the first: each already
// phrased "source:line: what".
struct ConfigReport {
    std::vector<std::string> problems;
    // Top-level sections ("store", "integration", ...) that held a problem: what
    // the returned Config says of them is the default, not the file.
    std::set<std::string> sections_with_problems;
    bool ok() const { return problems.empty(); }
};

// Facts from the environment the defaults depend on (read by the caller).
struct ConfigEnvironment {
    std::string state_directory;    // $STATE_DIRECTORY from systemd, else empty
    std::string runtime_directory;  // $RUNTIME_DIRECTORY from systemd, else empty
};

// The embedded default: the YAML store in <state_dir>/users.yml (state_dir is
// $STATE_DIRECTORY, else ./state), the control socket <runtime_dir>/tokend.sock
// ($RUNTIME_DIRECTORY, else ./run), the redirect endpoint on 127.0.0.1:6001,
// no integration.
Config default_config(const ConfigEnvironment& env);

// The texts an integration's users get: the top-level messages with the
// integration's own over them.
MessageTexts messages_of(const Config& config, const IntegrationConfig& integration);

// Parses configuration text over the defaults. `source` names it in messages.
// Throws ConfigError on bad YAML, unknown keys, wrong types or bad values.
Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env);

// Reads and parses a file; throws ConfigError when it cannot be read.
Config load_config_file(const std::string& path, const ConfigEnvironment& env);

// The same, but every problem goes to *report and nothing is thrown: bad YAML,
// duplicate keys (which yaml-cpp would silently drop), unknown keys, wrong
// types and values, each with its line. After a problem the key that holds it
// is set aside and parsing goes on, so one run finds them all. The Config
// returned holds what parsed; it is only meant for use when report->ok().
Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env,
                    ConfigReport* report);
Config load_config_file(const std::string& path, const ConfigEnvironment& env, ConfigReport* report);

}  // namespace tokend
