// The yaml store's options, parsed from the JSON object the operator wrote.
#pragma once

#include "option_helpers.h"
#include "status.h"

#include <string>
#include <string_view>

namespace tokend::yaml_store {

struct Options {
    std::string path;        // users file: the original bot's {yml_base}.yml
    std::string flows_path;  // pending flows, beside the users file (never inside it)
};

// Fills *out from config_json. TOKEND_INVALID names the offending option.
// With problems (validate_options) every bad option is recorded and the parse
// goes on; the checks between options run only when each option was good.
Status parse_options(std::string_view config_json, Options* out,
                     plugin_support::OptionProblems* problems = nullptr);

// validate_options: the options, then what open() would find on disk, without
// creating, locking or writing anything: each file's directory exists and may
// be written; each file, when present, can be read and parses. Every problem
// goes to *problems; returns INVALID when there is one.
Status check_options(std::string_view config_json, plugin_support::OptionProblems* problems);

// The flows file used when flows_path is not given: "users.yml" -> "users.flows.yml".
std::string default_flows_path(const std::string& path);

}  // namespace tokend::yaml_store
