// Turns a YAML node of the configuration into JSON, for plugin options (the
// store ABI takes its options as a JSON object).
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace tokend {

// Quoted scalars stay strings; plain scalars become null, booleans, integers or
// floats when they read as such (YAML 1.2 core schema), else strings.
nlohmann::ordered_json yaml_to_json(const YAML::Node& node);

}  // namespace tokend
