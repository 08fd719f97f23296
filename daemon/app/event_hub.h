// Fans tokend's events out to watchers (control connections running `watch`).
// Events never carry tokens: name, user id, time (and a sign-out's revocation outcome). Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace tokend {

struct Event {
    std::string name;  // context_set, context_cleared, token_refreshed, flow_completed, flow_failed, reauth_required, signed_out
    std::string user_id;
    std::string at;    // ISO 8601
    std::string revocation;  // signed_out: the revocation's outcome (core/grant_revocation.h); else empty
};

class EventHub {
public:
    using Listener = std::function<void(const Event&)>;

    // Listens to every event, or to one user's when user_id is given.
    uint64_t subscribe(std::string user_id, Listener listener);
    void unsubscribe(uint64_t subscription);
    void publish(const Event& event);
    size_t listeners() const { return listeners_.size(); }

private:
    struct Entry {
        std::string user_id;  // empty: all users
        Listener listener;
    };
    uint64_t next_ = 1;
    std::map<uint64_t, Entry> listeners_;
};

}  // namespace tokend
