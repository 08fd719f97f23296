#include "entry.h"

#include "yaml_writer.h"

namespace tokend::yaml_store {
namespace {

// Deeper objects are kept as !!binary: writing them as YAML would recurse that deep
// here and in every reader of the file. Real contexts nest three levels.
constexpr int kMaxMappingDepth = 64;

// Nesting depth of JSON text, counting brackets outside strings. Cheap, and lets us
// skip parsing values that are not objects at all.
bool shallow_json_object(std::string_view text) {
    size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos || text[start] != '{') return false;
    int depth = 0;
    bool in_string = false;
    for (size_t i = start; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxMappingDepth) return false;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return true;
}

}  // namespace

EntryPtr make_mapping_entry(std::string_view key, const nlohmann::ordered_json& object) {
    auto entry = std::make_shared<Entry>();
    entry->value = object.dump();
    entry->yaml = emit_mapping_entry(key, object);
    return entry;
}

EntryPtr make_binary_entry(std::string_view key, std::string_view bytes) {
    auto entry = std::make_shared<Entry>();
    entry->value = std::string(bytes);
    entry->yaml = emit_binary_entry(key, bytes);
    return entry;
}

EntryPtr make_entry(std::string_view key, std::string_view value) {
    if (shallow_json_object(value)) {
        const nlohmann::ordered_json parsed =
            nlohmann::ordered_json::parse(value.begin(), value.end(), nullptr, false);
        // Values are opaque bytes to the ABI: only a value that reads back identically
        // (compact JSON, as tokend writes it) becomes a YAML mapping; any other spelling
        // of an object (spaces, escapes) is kept byte for byte as !!binary.
        if (parsed.is_object() && parsed.dump() == value) return make_mapping_entry(key, parsed);
    }
    return make_binary_entry(key, value);
}

}  // namespace tokend::yaml_store
