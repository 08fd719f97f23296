// The daemon's log: one record per event, for operators. Three outputs:
//   journal  under systemd (JOURNAL_STREAM names our stderr): native journal
//            entries through sd_journal_sendv, with PRIORITY per level and the
//            structured fields of core/log_record.h; no timestamp of our own;
//   text     elsewhere: "2026-12-03T15:19:28.123+00:00 warning  message" on
//            stderr (UTC, with its offset);
//   json     log.format: json: one JSON object per line on stderr.
// Call sites log with spdlog::info(...) and friends; log_event() attaches
// structured fields to one record.
#pragma once

#include "core/log_record.h"

#include <tokend/store.h>

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace tokend {

// log.format: "auto" (journal if stderr is the journal, else text), "text" or "json".
struct LogSetup {
    std::string level = "info";
    std::string format = "auto";
};

// Sets up (or replaces) the default logger. Throws std::invalid_argument on an
// unknown level or format, naming what is accepted. Safe to call twice: main
// sets up the default before reading the configuration, so that even a
// configuration error reaches the journal with its priority.
void init_logging(const LogSetup& setup);

// Changes the level of the logger (reload). Throws on an unknown level.
void set_log_level(const std::string& level);

// True when JOURNAL_STREAM names the device and inode of our stderr, as
// systemd.exec(5) documents for services whose stderr is the journal.
bool stderr_is_journal();

// A plugin's log line, tagged with the plugin's name (and STORE_PLUGIN).
void log_from_plugin(std::string_view plugin, tokend_log_level level, std::string_view message);

namespace detail {
// The fields of the record being written on this thread (nullptr: none).
const LogFields* current_log_fields();
class ScopedLogFields {
public:
    explicit ScopedLogFields(const LogFields& fields);
    ~ScopedLogFields();
    ScopedLogFields(const ScopedLogFields&) = delete;
    ScopedLogFields& operator=(const ScopedLogFields&) = delete;

private:
    const LogFields* previous_;
};
}  // namespace detail

// spdlog::log with structured fields, e.g.
//   log_event(spdlog::level::warn, LogFields().with_user(user).with_flow(flow_log_id(id)).with_outcome("denied"),
//             "user {}: flow {} ended denied", user, flow_log_id(id));
// The fields go to the journal and to JSON; the text output shows the message.
template <typename... Args>
void log_event(spdlog::level::level_enum level, const LogFields& fields, spdlog::format_string_t<Args...> format,
               Args&&... args) {
    detail::ScopedLogFields scope(fields);
    spdlog::log(level, format, std::forward<Args>(args)...);
}

}  // namespace tokend
