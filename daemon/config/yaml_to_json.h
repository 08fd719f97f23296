// Turns a YAML node of the configuration into JSON, for plugin options (the
// store ABI takes its options as a JSON object).
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <stdexcept>

namespace tokend {

// At most this many values (scalars, mappings, sequences) come out of one node.
// Options hold a handful; the cap is for YAML aliases, which the configuration
// may use (an operator's shorthand) but which expand: ten levels of ten aliases
// each would be 10^10 values from a few hundred bytes.
inline constexpr size_t kMaxYamlToJsonValues = 10000;

// Thrown for a node JSON cannot hold; what() says why, phrased to follow the
// node's name ("has a key that is not text").
class YamlNotJson : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown when a node expands to more than kMaxYamlToJsonValues values.
class YamlTooLarge : public YamlNotJson {
public:
    using YamlNotJson::YamlNotJson;
};

// Quoted scalars stay strings; plain scalars become null, booleans, integers or
// floats when they read as such (YAML 1.2 core schema), else strings. Throws
// YamlNotJson for a mapping key that is a sequence or mapping, and
// YamlTooLarge (before expanding further) past kMaxYamlToJsonValues, or nested
// deeper than kMaxJsonDepth (core/json_limits.h) sequences and mappings.
nlohmann::ordered_json yaml_to_json(const YAML::Node& node);

}  // namespace tokend
