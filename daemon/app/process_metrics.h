// The I/O edge of the process_* metrics: reads /proc/self/stat, /proc/stat,
// /proc/self/limits and /proc/self/fd at scrape time and hands the text to the
// parsers of core/process_stats.h. Fast (a few small reads): the loop thread
// may call it.
#pragma once

#include "core/process_stats.h"

#include <cstdint>
#include <optional>

namespace tokend {

struct ProcessSample {
    std::optional<ProcStat> stat;
    std::optional<uint64_t> boot_time;  // seconds since the epoch
    std::optional<uint64_t> max_fds;
    std::optional<uint64_t> open_fds;
};

ProcessSample sample_process();

}  // namespace tokend
