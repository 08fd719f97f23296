// What both store-file readers (yaml_reader_yaml_cpp, yaml_reader_fast) do with a
// scalar once they have its text, shared so the two cannot drift apart: how a plain
// scalar resolves to a JSON value and how a !!binary one decodes.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace tokend::yaml_store {

// A plain (unquoted, untagged) scalar, resolved as YAML 1.2's core schema does:
// null, true/false, an integer, a float, or else the text itself (the unquoted
// datetimes yaml.dump writes stay strings).
nlohmann::ordered_json resolve_plain(const std::string& text);

// The bytes of a !!binary scalar; nullopt when it is not base64.
std::optional<std::string> decode_base64(const std::string& text);

}  // namespace tokend::yaml_store
