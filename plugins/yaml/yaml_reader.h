// Reads a store file (users or flows) into entries. Accepts what tokend writes and
// what the Python bot wrote with yaml.safe_dump or yaml.dump.
#pragma once

#include "entry.h"
#include "yaml_reader_fast.h"

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend::yaml_store {

// The file cannot be used; what() names the file and, when known, the line.
class CorruptFile : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses text, the content of the file at file_name (used in messages only). An empty
// document means no entries. Throws CorruptFile for bad YAML, a top level that is not
// a mapping, an entry that is neither a mapping nor !!binary, or any YAML alias
// (*name), which is refused before anything is expanded. A key given twice keeps
// its last value, as PyYAML does.
//
// The fast reader (yaml_reader_fast.h) reads the files tokend and the original
// module write, in one pass; any other text goes to yaml-cpp, with the same result.
// *declined (when given) says where the fast reader gave up, or has line 0.
std::vector<std::pair<std::string, EntryPtr>> parse_store_file(const std::string& text,
                                                               const std::string& file_name,
                                                               Declined* declined = nullptr);

// parse_store_file with yaml-cpp alone (it builds the node tree): the reference the
// fast reader is checked against, by the fuzz target, the tests and the benchmark.
std::vector<std::pair<std::string, EntryPtr>> parse_store_file_with_yaml_cpp(
    const std::string& text, const std::string& file_name);

}  // namespace tokend::yaml_store
