// Operator-configurable texts with {name} placeholders.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend {

// Replaces each "{name}" in text with its value (values are inserted as they
// are, so a value holding "{x}" is not expanded again).
std::string fill_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

// A value from outside (the provider's email, an error code) made literal text
// for a Markdown bot message: each character that Markdown gives a meaning to
// inside a line is backslash-escaped (CommonMark allows that for any ASCII
// punctuation), and control characters (a newline would start a block) become
// spaces. A plain address (alice@example.com) comes out unchanged.
std::string escape_markdown(std::string_view value);

}  // namespace tokend
