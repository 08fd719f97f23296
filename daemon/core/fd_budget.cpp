#include "core/fd_budget.h"

#include <algorithm>

namespace tokend {

uint64_t fd_reserve(uint64_t provider_transfers, uint64_t metrics_connections, uint64_t store_connections) {
    return 64 + provider_transfers + metrics_connections + 4 * store_connections;
}

FdBudget plan_fd_budget(const FdBudgetInput& input) {
    FdBudget out;
    const uint64_t hard = input.hard == kFdUnlimited ? kFdUnlimitedTarget : input.hard;
    out.soft = std::max(input.soft, hard);
    if (input.hard != kFdUnlimited) out.soft = std::min(out.soft, input.hard);
    out.http_connections = input.http_connections;
    out.control_connections = input.control_connections;
    const uint64_t wanted = input.http_connections + input.control_connections;
    const uint64_t fit = out.soft > input.reserve ? out.soft - input.reserve : 0;
    if (wanted <= fit) return out;
    // Split what fits in proportion to the configured caps, each at least 1.
    out.clamped = true;
    const uint64_t http = fit * input.http_connections / wanted;
    out.http_connections = std::clamp<uint64_t>(http, 1, std::max<uint64_t>(input.http_connections, 1));
    const uint64_t control = fit > out.http_connections ? fit - out.http_connections : 0;
    out.control_connections = std::clamp<uint64_t>(control, 1, std::max<uint64_t>(input.control_connections, 1));
    return out;
}

}  // namespace tokend
