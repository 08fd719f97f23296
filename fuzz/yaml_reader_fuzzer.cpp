// The YAML store's reader (plugins/yaml/yaml_reader): users.yml / flows.yml as
// tokend, the Python bot (yaml.safe_dump, yaml.dump) or an operator wrote them.
// Checks: only CorruptFile escapes; the fast reader (yaml_reader_fast), when it
// takes a text, gives exactly what yaml-cpp's reader gives (the same keys, values
// and texts, or the same CorruptFile message), and parse_store_file (the fast
// reader, yaml-cpp for what it declines) gives that too; each entry's text (what a
// commit writes) parses back to the same key and value, so a file tokend rewrites
// reads back as it was read; a mapping entry's value is compact JSON of an object.
#include "fuzz_check.h"

#include "yaml_reader.h"

#include <nlohmann/json.hpp>

#include <optional>

namespace {

using Entries = std::vector<std::pair<std::string, tokend::yaml_store::EntryPtr>>;

// The entries, or the CorruptFile message (in *error).
template <typename Read>
std::optional<Entries> outcome(Read read, std::string* error) {
    try {
        return read();
    } catch (const tokend::yaml_store::CorruptFile& corrupt) {
        *error = corrupt.what();
        return std::nullopt;
    }
}

bool same(const Entries& a, const Entries& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].first != b[i].first || a[i].second->value != b[i].second->value ||
            a[i].second->yaml != b[i].second->yaml) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tokend::yaml_store;
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string old_error;
    const std::optional<Entries> old_entries =
        outcome([&] { return parse_store_file_with_yaml_cpp(text, "users.yml"); }, &old_error);
    // New == old on every input: the fast reader where it takes the text, and the
    // dispatching parse_store_file (whose fallback is yaml-cpp) always.
    Declined declined;
    if (const auto fast = parse_store_file_fast(text, &declined)) {
        if (!old_entries || !same(*fast, *old_entries)) {
            std::fprintf(stderr, "the fast reader differs from yaml-cpp's (%s)\n",
                         old_entries ? "other entries" : old_error.c_str());
            FUZZ_CHECK(false);
        }
    }
    std::string new_error;
    const std::optional<Entries> new_entries =
        outcome([&] { return parse_store_file(text, "users.yml"); }, &new_error);
    FUZZ_CHECK(new_entries.has_value() == old_entries.has_value());
    FUZZ_CHECK(new_error == old_error);
    if (!old_entries) return 0;
    FUZZ_CHECK(same(*new_entries, *old_entries));

    std::string rewritten;
    for (const auto& [key, entry] : *old_entries) {
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
    // tokend's own text, read back by both readers.
    std::optional<Entries> again;
    for (bool with_yaml_cpp : {false, true}) {
        std::string error;
        again = outcome([&] { return with_yaml_cpp ? parse_store_file_with_yaml_cpp(rewritten, "users.yml")
                                                   : parse_store_file(rewritten, "users.yml"); },
                        &error);
        if (!again) {
            std::fprintf(stderr, "tokend's own text does not read back: %s\n", error.c_str());
            FUZZ_CHECK(false);
        }
        FUZZ_CHECK(same(*again, *old_entries));
    }
    return 0;
}
