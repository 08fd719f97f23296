#include "app/event_hub.h"

#include <vector>

namespace tokend {

uint64_t EventHub::subscribe(std::string user_id, Listener listener) {
    const uint64_t id = next_++;
    listeners_.emplace(id, Entry{std::move(user_id), std::move(listener)});
    return id;
}

void EventHub::unsubscribe(uint64_t subscription) { listeners_.erase(subscription); }

void EventHub::publish(const Event& event) {
    // A listener may unsubscribe (its connection closed) while we deliver.
    std::vector<uint64_t> targets;
    for (const auto& [id, entry] : listeners_) {
        if (entry.user_id.empty() || entry.user_id == event.user_id) targets.push_back(id);
    }
    for (uint64_t id : targets) {
        auto it = listeners_.find(id);
        if (it != listeners_.end()) it->second.listener(event);
    }
}

}  // namespace tokend
