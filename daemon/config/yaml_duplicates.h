// Duplicate keys in a YAML text. yaml-cpp keeps one of two equal keys of a
// mapping without a word; an operator who wrote a key twice meant one of them
// and cannot know which one tokend uses. This finds them, with their lines,
// from the parser's events: nothing is built, nothing is expanded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tokend {

struct DuplicateKey {
    std::string key;   // the scalar key as written (plain or quoted text)
    int line = 0;      // 1-based line of the repeated key
    int first_line = 0;  // 1-based line where the same mapping has it first
};

// Every scalar key that appears twice in one mapping, in the order of the
// text. Keys that are mappings, sequences or aliases are not compared, nor is
// the merge key "<<". Text yaml-cpp cannot parse gives what was found before
// the error (the parse itself reports the error).
std::vector<DuplicateKey> find_duplicate_keys(std::string_view yaml_text);

}  // namespace tokend
