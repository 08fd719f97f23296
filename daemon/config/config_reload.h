// What a reload (SIGHUP) may change in a running daemon, decided on two parsed
// configurations and nothing else. Reloadable: log.level, messages.*,
// flows.ttl, flows.maintenance_interval, and where the client secret and bot
// token come from (the secrets themselves are re-read by the daemon). Every
// other key shapes something built at start (listeners, the store, the
// integration's endpoints, the refresh schedule, limits) and needs a restart.
#pragma once

#include "config/config.h"

#include <string>
#include <vector>

namespace tokend {

struct ReloadPlan {
    std::vector<std::string> applied;           // reloadable keys whose value changed
    std::vector<std::string> restart_required;  // other keys whose value changed: not applied
};

// Compares the running configuration with the new one.
ReloadPlan plan_reload(const Config& running, const Config& next);

// Copies the reloadable keys from `next` into `running`, leaving every other
// key as it runs.
void apply_reloadable(Config* running, const Config& next);

}  // namespace tokend
