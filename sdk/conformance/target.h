// What one run of the conformance suite tests: the loaded plugin, the config
// template with its per-test placeholders, and whether the data must persist.
// main() fills it in once before any test runs; tests only read it.
#pragma once

#include "host/store_plugin.h"

#include <memory>
#include <string>
#include <string_view>

namespace tokend::conformance {

struct Target {
    std::shared_ptr<StorePlugin> plugin;
    // The --config text. "@TMPDIR@" and "@UNIQUE@" are replaced per test case.
    std::string config_template = "{}";
    bool persistent = false;  // --persistent: values must survive close and reopen

    bool has(uint64_t capability) const { return plugin->has(capability); }
    bool needs_temp_dir() const;
};

// The run's target; set once by main() before RUN_ALL_TESTS.
const Target& target();
void set_target(Target target);

// The config for one test case: every "@TMPDIR@" becomes temp_dir and every
// "@UNIQUE@" becomes unique, both escaped for use inside a JSON string (the
// placeholders are meant to appear inside string literals).
std::string expand_config(std::string_view config_template, std::string_view temp_dir,
                          std::string_view unique);

// "THREAD_SAFE LOCK NOTIFY" (or "none"), for the banner and skip messages.
std::string describe_capabilities(uint64_t capabilities);

}  // namespace tokend::conformance
