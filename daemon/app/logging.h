// The daemon's log: one line per event, for operators, on stderr (journald
// adds its own timestamps under systemd; a terminal gets colours).
#pragma once

#include <tokend/store.h>

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace tokend {

// Sets up the default logger at `level` (trace..error). Throws on an unknown level.
void init_logging(const std::string& level);

// Changes the level of the logger set up by init_logging (reload). Throws on
// an unknown level.
void set_log_level(const std::string& level);

// A plugin's log line, tagged with the plugin's name.
void log_from_plugin(std::string_view plugin, tokend_log_level level, std::string_view message);

}  // namespace tokend
