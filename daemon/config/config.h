// tokend's configuration: what etc/tokend.yml may hold, its defaults, and the
// parser that refuses unknown keys with their name and line.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace tokend {

// A configuration problem, already phrased for the operator ("file:line: what").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct StoreConfig {
    std::string plugin = "yaml";  // a name looked up in plugin_dir, or a path
    std::string plugin_dir;       // empty: the compiled-in directory
    nlohmann::ordered_json options = nlohmann::ordered_json::object();  // given to the plugin as JSON
};

struct LogConfig {
    std::string level = "info";  // trace, debug, info, warn, error
};

struct Config {
    std::string state_dir;  // where the embedded default keeps its files
    LogConfig log;
    StoreConfig store;
};

// Facts from the environment the defaults depend on (read by the caller).
struct ConfigEnvironment {
    std::string state_directory;  // $STATE_DIRECTORY from systemd, else empty
};

// The embedded default: the YAML store in <state_dir>/users.yml, where state_dir is
// $STATE_DIRECTORY when systemd gives one, else ./state.
Config default_config(const ConfigEnvironment& env);

// Parses configuration text over the defaults. `source` names it in messages.
// Throws ConfigError on bad YAML, unknown keys, wrong types or bad values.
Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env);

// Reads and parses a file; throws ConfigError when it cannot be read.
Config load_config_file(const std::string& path, const ConfigEnvironment& env);

}  // namespace tokend
