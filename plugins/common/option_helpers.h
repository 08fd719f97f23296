// Reading a plugin's options: the JSON object the operator wrote under
// store.options. Messages name options, never their values (a value may be a
// password).
#pragma once

#include "plugin_support.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::plugin_support {

// Parses config_json into *out: INVALID "options are not valid JSON" or
// "options must be a JSON object".
Status parse_options_object(std::string_view config_json, nlohmann::json* out);

// Text from the operator's file made safe for a message: at most 64 bytes,
// anything but printable ASCII shown as '?'.
std::string printable(std::string_view text);

// A string option; unless may_be_empty, an empty string is refused too.
Status string_option(const nlohmann::json& value, const char* name, std::string* out,
                     bool may_be_empty = false);

// A whole number from low to high.
Status number_option(const nlohmann::json& value, const char* name, uint64_t low, uint64_t high,
                     uint64_t* out);

// INVALID: unknown option "<name>" (known: <known>).
Status unknown_option(std::string_view name, std::string_view known);

// One problem found in the options by validate_options (store ABI 1.3): the
// top-level option it concerns ("" for none or several) and what is wrong.
struct OptionProblem {
    std::string option;
    std::string message;
};
using OptionProblems = std::vector<OptionProblem>;

// For a parser shared by open() and validate_options(): a failed status for
// `option`. Without a problem list (open) it ends the parse: returns true, and
// the caller returns the status. With one (validate) it is recorded, and the
// parse goes on to find the others: returns false.
bool stop_parsing(const Status& status, std::string_view option, OptionProblems* problems);

}  // namespace tokend::plugin_support
