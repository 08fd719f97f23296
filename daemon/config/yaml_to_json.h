// Turns a YAML node of the configuration into JSON, for plugin options (the
// store ABI takes its options as a JSON object).
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace tokend {

// Quoted scalars stay strings; plain scalars become null, booleans, integers or
// floats when they read as such (YAML 1.2 core schema), else strings.
nlohmann::ordered_json yaml_to_json(const YAML::Node& node);

// Whether no mapping or sequence in `node` nests deeper than `max_depth` levels
// (a mapping is 1, a mapping in it 2, a scalar 0): the JSON yaml_to_json makes
// of it is copied, dumped and parsed again by the plugin, each once per level.
bool yaml_depth_within(const YAML::Node& node, std::size_t max_depth);

}  // namespace tokend
