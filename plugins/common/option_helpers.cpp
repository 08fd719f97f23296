#include "option_helpers.h"

namespace tokend::plugin_support {

Status parse_options_object(std::string_view config_json, nlohmann::json* out) {
    nlohmann::json config = nlohmann::json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (config.is_discarded()) return Status::error(TOKEND_INVALID, "options are not valid JSON");
    if (!config.is_object()) return Status::error(TOKEND_INVALID, "options must be a JSON object");
    *out = std::move(config);
    return Status::success();
}

std::string printable(std::string_view text) {
    std::string shown;
    for (char c : text.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return shown;
}

Status string_option(const nlohmann::json& value, const char* name, std::string* out, bool may_be_empty) {
    if (!value.is_string() || (!may_be_empty && value.get_ref<const std::string&>().empty())) {
        return Status::error(TOKEND_INVALID, std::string("option \"") + name + "\" must be a " +
                                                 (may_be_empty ? "string" : "non-empty string"));
    }
    *out = value.get<std::string>();
    return Status::success();
}

Status number_option(const nlohmann::json& value, const char* name, uint64_t low, uint64_t high,
                     uint64_t* out) {
    if (!value.is_number_unsigned() || value.get<uint64_t>() < low || value.get<uint64_t>() > high) {
        return Status::error(TOKEND_INVALID, std::string("option \"") + name +
                                                 "\" must be a whole number from " + std::to_string(low) +
                                                 " to " + std::to_string(high));
    }
    *out = value.get<uint64_t>();
    return Status::success();
}

Status unknown_option(std::string_view name, std::string_view known) {
    return Status::error(TOKEND_INVALID,
                         "unknown option \"" + printable(name) + "\" (known: " + std::string(known) + ")");
}

bool stop_parsing(const Status& status, std::string_view option, OptionProblems* problems) {
    if (problems == nullptr) return true;
    problems->push_back(OptionProblem{std::string(option), status.message});
    return false;
}

}  // namespace tokend::plugin_support
