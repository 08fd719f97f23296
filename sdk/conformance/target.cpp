#include "target.h"

#include <tokend/store.h>

#include <cstdio>
#include <optional>

namespace tokend::conformance {
namespace {

constexpr std::string_view kTempDirPlaceholder = "@TMPDIR@";
constexpr std::string_view kUniquePlaceholder = "@UNIQUE@";

// Never destroyed, so the plugin is never dlclose'd: LeakSanitizer runs at exit
// and can then name the plugin's functions in a leak report (after dlclose they
// are "<unknown module>"), and memory the plugin still reaches from its own
// statics is not mistaken for a leak. Instances are all closed by then; what
// they leak is still reported.
std::optional<Target>& the_target() {
    static auto* instance = new std::optional<Target>();
    return *instance;
}

std::string json_string_content(std::string_view text) {
    std::string escaped;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            escaped += '\\';
            escaped += c;
        } else if (byte < 0x20) {
            char code[8];
            std::snprintf(code, sizeof code, "\\u%04x", byte);
            escaped += code;
        } else {
            escaped += c;
        }
    }
    return escaped;
}

}  // namespace

bool Target::needs_temp_dir() const {
    return config_template.find(kTempDirPlaceholder) != std::string::npos;
}

const Target& target() { return the_target().value(); }

void set_target(Target target) { the_target() = std::move(target); }

std::string expand_config(std::string_view config_template, std::string_view temp_dir,
                          std::string_view unique) {
    const std::string temp_dir_text = json_string_content(temp_dir);
    const std::string unique_text = json_string_content(unique);
    std::string config;
    size_t at = 0;
    while (at < config_template.size()) {
        if (config_template.substr(at).starts_with(kTempDirPlaceholder)) {
            config += temp_dir_text;
            at += kTempDirPlaceholder.size();
        } else if (config_template.substr(at).starts_with(kUniquePlaceholder)) {
            config += unique_text;
            at += kUniquePlaceholder.size();
        } else {
            config += config_template[at++];
        }
    }
    return config;
}

std::string describe_capabilities(uint64_t capabilities) {
    std::string text;
    auto add = [&](uint64_t bit, const char* name) {
        if ((capabilities & bit) == 0) return;
        if (!text.empty()) text += ' ';
        text += name;
    };
    add(TOKEND_STORE_CAP_THREAD_SAFE, "THREAD_SAFE");
    add(TOKEND_STORE_CAP_LOCK, "LOCK");
    add(TOKEND_STORE_CAP_NOTIFY, "NOTIFY");
    add(TOKEND_STORE_CAP_SHARED, "SHARED");
    return text.empty() ? "none" : text;
}

}  // namespace tokend::conformance
