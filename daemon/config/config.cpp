#include "config/config.h"

#include "config/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <initializer_list>
#include <sstream>

namespace tokend {
namespace {

// "tokend.yml:12: " for messages about a node.
std::string where(std::string_view source, const YAML::Node& node) {
    std::string text(source);
    if (node.Mark().line >= 0) text += ":" + std::to_string(node.Mark().line + 1);
    return text + ": ";
}

// Refuses keys outside `allowed` and a node that is not a mapping.
void check_keys(std::string_view source, const YAML::Node& node, std::string_view section,
                std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) throw ConfigError(where(source, node) + "'" + std::string(section) + "' must be a mapping");
    for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        bool known = false;
        for (std::string_view name : allowed) known = known || key == name;
        if (!known) {
            throw ConfigError(where(source, item.first) + "unknown key '" + key + "' in '" +
                              std::string(section) + "'");
        }
    }
}

std::string read_string(std::string_view source, const YAML::Node& node, std::string_view key) {
    if (!node.IsScalar() || node.Scalar().empty()) {
        throw ConfigError(where(source, node) + "'" + std::string(key) + "' must be a non-empty string");
    }
    return node.Scalar();
}

void parse_log(std::string_view source, const YAML::Node& node, LogConfig* log) {
    check_keys(source, node, "log", {"level"});
    if (node["level"]) {
        const std::string level = read_string(source, node["level"], "log.level");
        for (const char* known : {"trace", "debug", "info", "warn", "error"}) {
            if (level == known) {
                log->level = level;
                return;
            }
        }
        throw ConfigError(where(source, node["level"]) + "log.level must be one of trace, debug, info, warn, error");
    }
}

void parse_store(std::string_view source, const YAML::Node& node, StoreConfig* store) {
    check_keys(source, node, "store", {"plugin", "plugin_dir", "options"});
    bool plugin_changed = false;
    if (node["plugin"]) {
        store->plugin = read_string(source, node["plugin"], "store.plugin");
        plugin_changed = true;
    }
    if (node["plugin_dir"]) store->plugin_dir = read_string(source, node["plugin_dir"], "store.plugin_dir");
    if (node["options"]) {
        const YAML::Node& options = node["options"];
        if (!options.IsMap() && !options.IsNull()) {
            throw ConfigError(where(source, options) + "'store.options' must be a mapping");
        }
        store->options = options.IsNull() ? nlohmann::ordered_json::object() : yaml_to_json(options);
    } else if (plugin_changed) {
        // The default options belong to the default plugin; another plugin gets none.
        store->options = nlohmann::ordered_json::object();
    }
}

}  // namespace

Config default_config(const ConfigEnvironment& env) {
    Config config;
    config.state_dir = env.state_directory.empty() ? "state" : env.state_directory;
    config.store.options = {{"path", config.state_dir + "/users.yml"}};
    return config;
}

Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env) {
    Config config = default_config(env);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::ParserException& error) {
        throw ConfigError(std::string(source) + ":" + std::to_string(error.mark.line + 1) +
                          ": not valid YAML: " + error.msg);
    }
    if (root.IsNull()) return config;  // an empty file: all defaults
    check_keys(source, root, "top level", {"state_dir", "log", "store"});
    if (root["state_dir"]) {
        config.state_dir = read_string(source, root["state_dir"], "state_dir");
        config.store.options = {{"path", config.state_dir + "/users.yml"}};
    }
    if (root["log"]) parse_log(source, root["log"], &config.log);
    if (root["store"]) parse_store(source, root["store"], &config.store);
    return config;
}

Config load_config_file(const std::string& path, const ConfigEnvironment& env) {
    std::ifstream file(path);
    if (!file) throw ConfigError(path + ": cannot read the configuration file");
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) throw ConfigError(path + ": error while reading the configuration file");
    return parse_config(text.str(), path, env);
}

}  // namespace tokend
