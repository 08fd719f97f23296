// Everything a start would find wrong with a configuration, found without
// starting anything: the file (bad YAML, duplicate keys, unknown keys, wrong
// values), the store plugin (it loads, and it validates its options without
// opening the store: store ABI 1.3), every secret (read, as the start reads
// them) and the link key. `tokend --check-config` prints the result; a SIGHUP
// reload runs it before it applies anything. It blocks (files, dlopen, the
// plugin reading its files): never on the event-loop thread.
#pragma once

#include "config/config.h"

#include <string>
#include <vector>

namespace tokend {

struct ConfigCheckInput {
    std::string config_path;         // empty: the embedded default
    ConfigEnvironment env;
    std::string log_level_override;  // --log-level
    std::string default_plugin_dir;  // where plugin names are looked up unless store.plugin_dir says
};

struct ConfigCheck {
    std::string source;                 // the file, or "embedded default"
    Config config;                      // as parsed; use it only when ok()
    std::vector<std::string> problems;  // "file:line: what", each one something the start would refuse
    std::vector<std::string> notes;     // worth saying, not a problem ("the plugin cannot check its options")
    bool ok() const { return problems.empty(); }
};

ConfigCheck check_configuration(const ConfigCheckInput& input);

}  // namespace tokend
