#include "config/yaml_to_json.h"

#include "core/json_limits.h"

#include <cerrno>
#include <cstdlib>
#include <regex>

namespace tokend {
namespace {

nlohmann::ordered_json plain_scalar(const std::string& text) {
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    static const std::regex integer("[-+]?[0-9]+");
    static const std::regex decimal("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    if (std::regex_match(text, integer)) {
        errno = 0;
        const long long value = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == 0) return value;
    }
    if (std::regex_match(text, decimal)) return std::strtod(text.c_str(), nullptr);
    return text;
}

// `depth`: the sequences and mappings around `node`. Counted here, not after:
// a self-referencing alias (&x [*x]) is a cycle that would recurse until the
// stack ran out (found by fuzz/config_fuzzer.cpp).
nlohmann::ordered_json convert(const YAML::Node& node, size_t* budget, size_t depth) {
    if ((node.IsSequence() || node.IsMap()) && ++depth > kMaxJsonDepth) {
        throw YamlTooLarge("nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    if (*budget == 0) {
        throw YamlTooLarge("expands to more than " + std::to_string(kMaxYamlToJsonValues) +
                           " values (nested YAML aliases?)");
    }
    --*budget;
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            // yaml-cpp tags a quoted scalar "!", a plain one "?".
            if (node.Tag() == "!") return node.Scalar();
            return plain_scalar(node.Scalar());
        case YAML::NodeType::Sequence: {
            auto array = nlohmann::ordered_json::array();
            for (const auto& item : node) array.push_back(convert(item, budget, depth));
            return array;
        }
        case YAML::NodeType::Map: {
            auto object = nlohmann::ordered_json::object();
            for (const auto& item : node) {
                // JSON keys are text; a flow key such as [1, 2] is not (found by fuzz_config).
                if (item.first.IsSequence() || item.first.IsMap()) {
                    throw YamlNotJson("has a key that is a sequence or mapping, not text");
                }
                object[item.first.as<std::string>()] = convert(item.second, budget, depth);
            }
            return object;
        }
    }
    return nullptr;
}

}  // namespace

nlohmann::ordered_json yaml_to_json(const YAML::Node& node) {
    size_t budget = kMaxYamlToJsonValues;
    return convert(node, &budget, 0);
}

}  // namespace tokend
