#include "core/flow_sweep.h"

#include <algorithm>

namespace tokend {

bool sweep_due(SweepCause cause, std::optional<Timestamp> last_run, Timestamp now, std::chrono::seconds interval) {
    if (cause != SweepCause::check || !last_run) return true;
    // A clock that went backwards counts as due rather than as "ran in the future".
    return now >= *last_run + interval || now < *last_run;
}

std::chrono::milliseconds sweep_lease_ttl(std::chrono::seconds interval) {
    const std::chrono::milliseconds whole = interval;
    return whole - std::min<std::chrono::milliseconds>(whole / 20, std::chrono::seconds{1});
}

std::optional<SweptFlow> sweep_decision(std::string_view flow_id, std::string_view stored_text, Timestamp now,
                                        std::chrono::seconds ttl) {
    auto flow = flow_state_from_json(stored_text);
    if (!flow) return SweptFlow{std::string(flow_id), "", std::nullopt, "unreadable"};
    if (!flow->expired(now, ttl)) return std::nullopt;
    return SweptFlow{std::string(flow_id), flow->user_id, flow->created, "expired"};
}

}  // namespace tokend
