// One stored value as the yaml store keeps it in memory: what get returns and the
// entry's ready-made YAML text, so a commit only concatenates.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace tokend::yaml_store {

struct Entry {
    std::string value;  // what get/take return
    std::string yaml;   // this entry's text in the file, "key:" through the last newline
};

// Immutable once built, so commits and readers share it without copying.
using EntryPtr = std::shared_ptr<const Entry>;

// The entry for a value given to put: a JSON object in compact form (as tokend
// writes it) becomes a YAML mapping, so the Python bot reads it, and reads back
// byte for byte; any other bytes, other spellings of objects included, are kept
// exactly, as !!binary.
EntryPtr make_entry(std::string_view key, std::string_view value);

// An entry read from a file as a mapping. Throws nlohmann::json::exception when a
// string in it is not UTF-8.
EntryPtr make_mapping_entry(std::string_view key, const nlohmann::ordered_json& object);

// An entry read from a file as !!binary.
EntryPtr make_binary_entry(std::string_view key, std::string_view bytes);

}  // namespace tokend::yaml_store
