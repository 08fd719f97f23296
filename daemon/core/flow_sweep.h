// Flow garbage collection, as the original's flow_maintenance did: at most once
// per interval (unless forced), delete every flow older than the TTL and every
// flow whose stored state cannot be read, and report each one.
#pragma once

#include "core/flow_state.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tokend {

struct SweptFlow {
    std::string flow_id;
    std::string user_id;               // empty when the state was unreadable
    std::optional<Timestamp> created;  // likewise
    std::string reason;                // "expired" or "unreadable"
};

// Whether a sweep should run now, given when the last one ran in this process.
bool sweep_due(std::optional<Timestamp> last_run, Timestamp now, std::chrono::seconds interval, bool force);

// What to do with one stored flow: a SweptFlow to delete it, or nothing to keep it.
std::optional<SweptFlow> sweep_decision(std::string_view flow_id, std::string_view stored_text, Timestamp now,
                                        std::chrono::seconds ttl);

}  // namespace tokend
