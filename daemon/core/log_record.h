// What a log record is made of, without writing it anywhere: the one spelling
// of levels (config file, command line, output), the syslog priority of each,
// the structured fields a call site may attach, a record as one JSON line or as
// the fields of a native journal entry, and a rate limit for warnings a client
// can provoke at will. daemon/app/logging.* writes them; nothing here does I/O.
#pragma once

#include "core/iso_time.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// The levels, as written everywhere: trace, debug, info, warning, error (and
// critical, used only for "cannot start"). `warn` is accepted as an alias of
// `warning` (older configuration files use it); anything else is nullopt.
std::optional<std::string_view> canonical_log_level(std::string_view level);

// For error messages: "trace, debug, info, warning (or warn), error".
std::string_view log_levels_accepted();

// syslog(3) priority of a canonical level: trace and debug 7, info 6,
// warning 4, error 3, critical 2 (journalctl -p warning shows 0..4).
int log_priority(std::string_view canonical_level);

// Structured fields a call site attaches to one record. Empty (0) ones are left
// out. flow is the flow's log id (flow_log_id(): a hash), never the flow id,
// which is the OAuth state. None of them may hold a token, code or secret.
struct LogFields {
    std::string_view user_id;  // USER_ID
    std::string_view flow;     // FLOW: flow_log_id(flow id)
    std::string_view outcome;  // OUTCOME: e.g. a redirect outcome, "refreshed"
    std::string_view client;   // CLIENT: the peer address of an HTTP client
    std::string_view plugin;   // STORE_PLUGIN: a store plugin's own log line
    int error_number = 0;      // ERRNO: a positive errno value

    // LogFields().with_user(id).with_outcome("denied"): the fields a call site names.
    LogFields& with_user(std::string_view value) { return user_id = value, *this; }
    LogFields& with_flow(std::string_view log_id) { return flow = log_id, *this; }
    LogFields& with_outcome(std::string_view value) { return outcome = value, *this; }
    LogFields& with_client(std::string_view value) { return client = value, *this; }
    LogFields& with_plugin(std::string_view value) { return plugin = value, *this; }
    LogFields& with_errno(int value) { return error_number = value, *this; }
};

// One record as a JSON object on one line (no newline at the end):
// {"time":"2026-01-02T03:04:05.678901Z","level":"warning","message":"...",
//  "user_id":..., "flow":..., "outcome":..., "client":..., "plugin":...,
//  "errno":2, "error":"No such file or directory"}.
std::string log_json_line(Timestamp time, std::string_view canonical_level, std::string_view message,
                          const LogFields& fields);

// The fields of a native journal entry (sd_journal_sendv's "KEY=value" items):
// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=tokend, TOKEND_LEVEL and the non-empty
// LogFields (USER_ID, FLOW, OUTCOME, CLIENT, STORE_PLUGIN, ERRNO). No timestamp:
// the journal keeps its own.
std::vector<std::string> journal_fields(std::string_view canonical_level, std::string_view message,
                                        const LogFields& fields);

// At most `per_window` records per window; beyond that, events are counted,
// and the first record of a later window reports how many were left out.
class LogRateLimit {
public:
    LogRateLimit(int per_window, std::chrono::seconds window) : per_window_(per_window), window_(window) {}

    struct Decision {
        bool log = false;          // write this event's record
        bool last = false;         // it is the last one before the window is full
        long long suppressed = 0;  // events left out since the last record written
    };
    Decision note(Timestamp now);

private:
    int per_window_;
    std::chrono::seconds window_;
    Timestamp window_start_{};
    int logged_in_window_ = 0;
    long long suppressed_ = 0;
    bool started_ = false;
};

}  // namespace tokend
