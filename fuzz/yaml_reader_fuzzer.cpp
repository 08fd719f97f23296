// The YAML store's reader (plugins/yaml/yaml_reader): users.yml / flows.yml as
// tokend, the Python bot (yaml.safe_dump, yaml.dump) or an operator wrote them.
// Checks: only CorruptFile escapes; each entry's text (what a commit writes)
// parses back to the same key and value, so a file tokend rewrites reads back
// as it was read; a mapping entry's value is compact JSON of an object.
#include "fuzz_check.h"

#include "yaml_reader.h"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tokend::yaml_store;
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::pair<std::string, EntryPtr>> entries;
    try {
        entries = parse_store_file(text, "users.yml");
    } catch (const CorruptFile&) {
        return 0;
    }
    std::string rewritten;
    for (const auto& [key, entry] : entries) {
        FUZZ_CHECK(entry != nullptr);
        FUZZ_CHECK(entry->yaml.size() > 0 && entry->yaml.back() == '\n');
        rewritten += entry->yaml;
        const bool binary = entry->yaml.find(": !!binary ") != std::string::npos;
        if (!binary) {
            const auto json = nlohmann::ordered_json::parse(entry->value, nullptr, false);
            FUZZ_CHECK(json.is_object());
            FUZZ_CHECK(json.dump() == entry->value);
        }
    }
    std::vector<std::pair<std::string, EntryPtr>> again;
    try {
        again = parse_store_file(rewritten, "users.yml");
    } catch (const CorruptFile& error) {
        std::fprintf(stderr, "tokend's own text does not read back: %s\n", error.what());
        FUZZ_CHECK(false);
    }
    FUZZ_CHECK(again.size() == entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        FUZZ_CHECK(again[i].first == entries[i].first);
        FUZZ_CHECK(again[i].second->value == entries[i].second->value);
        FUZZ_CHECK(again[i].second->yaml == entries[i].second->yaml);
    }
    return 0;
}
