// The process_* metrics every Prometheus client library exports (prometheus-cpp
// has no process collector), parsed from the text of /proc files. Pure: the
// caller reads the files (app/process_metrics.cpp) and passes their text, so
// the parsing is tested on fixed inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tokend {

// What /proc/<pid>/stat says of a process (proc(5)), in the units the
// Prometheus names use.
struct ProcStat {
    double cpu_seconds = 0;          // utime + stime (fields 14 and 15) / ticks per second
    double start_seconds_after_boot = 0;  // starttime (field 22) / ticks per second
    uint64_t virtual_memory_bytes = 0;    // vsize (field 23)
    uint64_t resident_memory_bytes = 0;   // rss (field 24, pages) * page size
};

// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself: the fields after it are counted from
// its last ')'. nullopt when the text is not such a line.
std::optional<ProcStat> parse_proc_stat(std::string_view text, long ticks_per_second, long page_size);

// The "btime" line of /proc/stat: when the system booted, in seconds since the epoch.
std::optional<uint64_t> parse_boot_time(std::string_view proc_stat_text);

// The soft limit of "Max open files" in /proc/<pid>/limits; "unlimited" is
// UINT64_MAX. nullopt when the line is missing or unreadable.
std::optional<uint64_t> parse_max_open_files(std::string_view limits_text);

}  // namespace tokend
