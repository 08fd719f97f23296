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

// What asks for a sweep.
enum class SweepCause {
    check,   // start_flow's check (as the original) or flow_maintenance without force
    tick,    // the maintenance timer, which repeats every interval
    forced,  // flow_maintenance with force
};

// Whether a sweep should run now, given when the last one (of any cause) ran in
// this process. A check is due once an interval has passed since; a tick and a
// forced sweep always are. A tick is not measured against the last sweep: a check
// in between would push it back (the timer's gap reaching twice the interval),
// and two ticks' clock readings can be a little short of the interval apart.
bool sweep_due(SweepCause cause, std::optional<Timestamp> last_run, Timestamp now, std::chrono::seconds interval);

// How long a sweep holds the store's `flow-maintenance` lease (several processes
// sharing a store: whoever takes it sweeps, the others skip until it lapses).
// A little less than the interval, so the holder's own next tick, whose store
// call may come a few milliseconds earlier after the tick than this one did,
// finds it lapsed instead of skipping a whole interval: one twentieth of the
// interval, at most one second, less.
std::chrono::milliseconds sweep_lease_ttl(std::chrono::seconds interval);

// What to do with one stored flow: a SweptFlow to delete it, or nothing to keep it.
std::optional<SweptFlow> sweep_decision(std::string_view flow_id, std::string_view stored_text, Timestamp now,
                                        std::chrono::seconds ttl);

}  // namespace tokend
