// Turns stored entries into YAML text that PyYAML's safe_load and yaml-cpp read back
// as the same data. Our own emitter rather than YAML::Emitter: we need exact control
// of quoting (every string double-quoted, so "123", "yes" or an ISO datetime stay
// strings in Python), of floats (PyYAML only reads "1.0e+20", not "1e+20", as a
// float) and of escapes, and emitting straight into a string is much faster.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tokend::yaml_store {

// The text of one top-level entry whose value is a JSON object: "key:" and the
// object as a block mapping, ending with a newline.
std::string emit_mapping_entry(std::string_view key, const nlohmann::ordered_json& object);

// The text of one top-level entry whose value is opaque bytes: key: !!binary "base64".
std::string emit_binary_entry(std::string_view key, std::string_view bytes);

// A mapping key at indent as the writer puts it: indent spaces, the key (plain,
// double-quoted, or !!binary when it is not UTF-8; in the explicit "? key" form when
// that is too long for an implicit key) and the ':'.
void append_key(std::string& out, std::string_view key, int indent);

// A string as a YAML double-quoted scalar. Throws std::invalid_argument when text is
// not valid UTF-8 (no YAML string can hold such bytes).
void append_quoted(std::string& out, std::string_view text);

// True for strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace tokend::yaml_store
