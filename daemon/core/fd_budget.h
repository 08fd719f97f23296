// How many file descriptors tokend may spend on client connections: the soft
// RLIMIT_NOFILE raised to the hard one, a reserve kept for everything else
// (store files, the provider's transfers, Redis connections, metrics,
// listeners, logs), and the HTTP and control connection caps clamped into
// what is left. Pure: the edge (app/process_limits) reads and sets limits.
#pragma once

#include <cstdint>

namespace tokend {

struct FdBudgetInput {
    uint64_t soft = 0;  // current RLIMIT_NOFILE soft limit
    uint64_t hard = 0;  // its hard limit; kFdUnlimited for RLIM_INFINITY
    uint64_t reserve = 0;
    uint64_t http_connections = 0;     // http.max_connections as configured
    uint64_t control_connections = 0;  // control.max_connections as configured
};

struct FdBudget {
    uint64_t soft = 0;                 // the soft limit to run with (>= the input's)
    uint64_t http_connections = 0;     // caps that fit: soft >= reserve + both
    uint64_t control_connections = 0;  //   (each at least 1 when even that does not fit)
    bool clamped = false;              // a cap was lowered
};

inline constexpr uint64_t kFdUnlimited = UINT64_MAX;
// What an unlimited hard limit is raised to (the kernel's default fs.nr_open).
inline constexpr uint64_t kFdUnlimitedTarget = 1 << 20;

// The reserve for the rest of the process: 64 for store files, logs, the
// loop's own descriptors and listeners, plus the provider's concurrent
// transfers, the metrics connections and a few per store connection.
uint64_t fd_reserve(uint64_t provider_transfers, uint64_t metrics_connections, uint64_t store_connections);

FdBudget plan_fd_budget(const FdBudgetInput& input);

}  // namespace tokend
