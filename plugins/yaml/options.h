// The yaml store's options, parsed from the JSON object the operator wrote.
#pragma once

#include "status.h"

#include <string>
#include <string_view>

namespace tokend::yaml_store {

struct Options {
    std::string path;        // users file: the original bot's {yml_base}.yml
    std::string flows_path;  // pending flows, beside the users file (never inside it)
};

// Fills *out from config_json. TOKEND_INVALID names the offending option.
Status parse_options(std::string_view config_json, Options* out);

// The flows file used when flows_path is not given: "users.yml" -> "users.flows.yml".
std::string default_flows_path(const std::string& path);

}  // namespace tokend::yaml_store
