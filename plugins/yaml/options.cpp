#include "options.h"

#include <nlohmann/json.hpp>

namespace tokend::yaml_store {
namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Option names come from the operator's file; keep messages short and printable.
std::string printable_name(const std::string& name) {
    std::string shown;
    for (char c : name.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return shown;
}

Status string_option(const nlohmann::json& value, const char* name, std::string* out) {
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return Status::error(TOKEND_INVALID,
                             std::string("option \"") + name + "\" must be a non-empty string");
    }
    *out = value.get<std::string>();
    return Status::success();
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
    const nlohmann::json config =
        nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (config.is_discarded()) return Status::error(TOKEND_INVALID, "options are not valid JSON");
    if (!config.is_object()) return Status::error(TOKEND_INVALID, "options must be a JSON object");

    Options options;
    for (const auto& [name, value] : config.items()) {
        Status status;
        if (name == "path") {
            status = string_option(value, "path", &options.path);
        } else if (name == "flows_path") {
            status = string_option(value, "flows_path", &options.flows_path);
        } else {
            status = Status::error(TOKEND_INVALID, "unknown option \"" + printable_name(name) +
                                                       "\" (known: path, flows_path)");
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
