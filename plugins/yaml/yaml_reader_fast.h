// The fast reader of a store file: one pass over the text, no node tree, for the
// block YAML that tokend's writer and the original module's PyYAML (safe_dump, dump)
// write. What it takes it reads exactly as parse_store_file_with_yaml_cpp does (the
// fuzz target yaml_reader checks that on every input); anything else it declines,
// and parse_store_file then reads the file with yaml-cpp.
//
// It takes:
// - comment lines ('#' at column 0) and empty lines before the first entry;
// - top-level entries at column 0: "key:" over a block mapping indented deeper,
//   "key: {}", or "key: !!binary "base64"";
// - in a block mapping, "key: value" lines, every key of one mapping at the same
//   column; a value is a nested block mapping on the following deeper lines,
//   nothing (null), {}, [], a single- or double-quoted scalar on one line, or a
//   plain scalar that may go on over deeper-indented lines (PyYAML folds long ones);
// - keys plain ([A-Za-z0-9_] then also -./+=@$) or quoted on one line;
// - '\n' line ends only; no tabs or other control characters; UTF-8 beyond ASCII
//   only inside quoted scalars.
// It declines sequences, anchors, aliases, other tags, block scalars, flow
// collections with content, directives and document markers, blank or comment lines
// after the first entry, trailing spaces, and every error (yaml-cpp names its line).
#pragma once

#include "entry.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend::yaml_store {

// Where and why the fast reader gave a text to yaml-cpp.
struct Declined {
    size_t line = 0;  // 1-based
    std::string what;
};

// The entries of text, in file order (a key given twice is there twice), or nullopt
// when text holds anything outside the subset above; *declined (when given) then
// says where.
std::optional<std::vector<std::pair<std::string, EntryPtr>>> parse_store_file_fast(
    std::string_view text, Declined* declined);

}  // namespace tokend::yaml_store
