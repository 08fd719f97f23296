// Operator-configurable texts with {name} placeholders.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tokend {

// Replaces each "{name}" in text with its value (values are inserted as they
// are, so a value holding "{x}" is not expanded again).
std::string fill_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace tokend
