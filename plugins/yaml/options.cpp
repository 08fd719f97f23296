#include "options.h"

#include "option_helpers.h"

namespace tokend::yaml_store {
namespace {

using plugin_support::parse_options_object;
using plugin_support::string_option;
using plugin_support::unknown_option;

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string default_flows_path(const std::string& path) {
    for (std::string_view suffix : {".yml", ".yaml"}) {
        if (ends_with(path, suffix) && path.size() > suffix.size()) {
            return path.substr(0, path.size() - suffix.size()) + ".flows.yml";
        }
    }
    return path + ".flows.yml";
}

Status parse_options(std::string_view config_json, Options* out) {
    nlohmann::json config;
    if (Status status = parse_options_object(config_json, &config); !status.ok()) return status;

    Options options;
    for (const auto& [name, value] : config.items()) {
        Status status;
        if (name == "path") {
            status = string_option(value, "path", &options.path);
        } else if (name == "flows_path") {
            status = string_option(value, "flows_path", &options.flows_path);
        } else {
            status = unknown_option(name, "path, flows_path");
        }
        if (!status.ok()) return status;
    }
    if (options.path.empty()) return Status::error(TOKEND_INVALID, "option \"path\" is required");
    if (options.flows_path.empty()) options.flows_path = default_flows_path(options.path);
    if (options.flows_path == options.path) {
        return Status::error(TOKEND_INVALID, "option \"flows_path\" must differ from \"path\"");
    }
    *out = std::move(options);
    return Status::success();
}

}  // namespace tokend::yaml_store
