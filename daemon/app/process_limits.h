// The process's own resources, set at start-up: no core dumps (memory holds
// tokens and secrets) and a file descriptor budget that fits the connection caps.
#pragma once

#include "config/config.h"

#include <cstdint>

namespace tokend {

// prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0, whatever started tokend (the
// unit sets LimitCORE=0, a shell or another supervisor may not). Also keeps
// other processes of the same uid from ptrace-attaching or reading
// /proc/PID/mem. Failures are written to stderr; start-up goes on.
void forbid_core_dumps() noexcept;

// Raises the RLIMIT_NOFILE soft limit to the hard one and lowers
// config->http.max_connections and config->control.max_connections when they
// do not fit beside `reserve` descriptors, with a warning saying so
// (core/fd_budget decides).
void fit_connections_to_fd_limit(Config* config, uint64_t reserve);

}  // namespace tokend
