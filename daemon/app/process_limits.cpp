#include "app/process_limits.h"

#include "app/logging.h"
#include "core/fd_budget.h"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tokend {

void forbid_core_dumps() noexcept {
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        std::fprintf(stderr, "tokend: prctl(PR_SET_DUMPABLE, 0) failed: %s\n", std::strerror(errno));
    }
    const rlimit none{0, 0};
    if (::setrlimit(RLIMIT_CORE, &none) != 0) {
        std::fprintf(stderr, "tokend: setrlimit(RLIMIT_CORE, 0) failed: %s\n", std::strerror(errno));
    }
}

void fit_connections_to_fd_limit(Config* config, uint64_t reserve) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        log_event(spdlog::level::warn, LogFields().with_errno(errno),
                  "getrlimit(RLIMIT_NOFILE) failed: {}; connection caps left as configured", std::strerror(errno));
        return;
    }
    FdBudgetInput input;
    input.soft = limit.rlim_cur == RLIM_INFINITY ? kFdUnlimited : limit.rlim_cur;
    input.hard = limit.rlim_max == RLIM_INFINITY ? kFdUnlimited : limit.rlim_max;
    input.reserve = reserve;
    input.http_connections = config->http.max_connections;
    input.control_connections = config->control.max_connections;
    FdBudget budget = plan_fd_budget(input);
    if (budget.soft != input.soft) {
        rlimit raised{static_cast<rlim_t>(budget.soft), limit.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            spdlog::info("file descriptors: soft limit raised from {} to {}", input.soft, budget.soft);
        } else {
            log_event(spdlog::level::warn, LogFields().with_errno(errno),
                      "file descriptors: cannot raise the soft limit from {} to {}: {} (raise LimitNOFILE= or the hard "
                      "limit)", input.soft, budget.soft,
                         std::strerror(errno));
            input.hard = input.soft;  // plan again for the limit we have
            budget = plan_fd_budget(input);
        }
    }
    if (budget.clamped) {
        spdlog::warn("file descriptors: the limit {} does not fit http.max_connections {} + control.max_connections "
                     "{} + {} kept for the store, the provider and metrics; running with http.max_connections {} "
                     "and control.max_connections {}. Raise the limit (LimitNOFILE= in the unit, ulimit -Hn) or "
                     "lower the caps",
                     budget.soft, input.http_connections, input.control_connections, reserve,
                     budget.http_connections, budget.control_connections);
        config->http.max_connections = static_cast<size_t>(budget.http_connections);
        config->control.max_connections = static_cast<size_t>(budget.control_connections);
    }
}

}  // namespace tokend
