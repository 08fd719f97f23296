// Where each thing lives in Redis. The names are the original Python module's
// (RedisTokenManager), so a Redis it filled works with tokend and the other way
// round; the optional prefix goes in front of every name.
//
//   {p}user-{user_id}       string: the user context JSON     member of {p}users
//   {p}flows-{flow_id}      string: the pending flow JSON      member of {p}flows
//   {p}flow-maintenance     string: ISO time of the last flow sweep
//   {p}tokend-lease-user-{key}, {p}tokend-lease-flow-{key}
//                           string "{owner} {fence}", expiring: a lease (tokend only)
//   {p}tokend-fence         integer: the fencing token counter, never expires
//   channel {p}{channel}    change notifications (see encode_change)
#pragma once

#include <tokend/store.h>

#include <optional>
#include <string>
#include <string_view>

namespace tokend::redis_store {

class KeyLayout {
public:
    KeyLayout(std::string prefix, std::string_view channel)
        : prefix_(std::move(prefix)), channel_(prefix_ + std::string(channel)) {}

    // The string key holding the value; also its member in the namespace's set.
    std::string value_key(tokend_namespace ns, std::string_view key) const;
    // The set listing a namespace's value keys ("users", "flows").
    std::string set_key(tokend_namespace ns) const;
    // The key a set member names, or nothing if the member is not one of ours.
    std::optional<std::string_view> key_of_member(tokend_namespace ns, std::string_view member) const;

    std::string lease_key(tokend_namespace ns, std::string_view key) const;
    std::string fence_counter() const { return prefix_ + "tokend-fence"; }
    // The original's sweep mark, written when the flow sweep lease is taken.
    std::string maintenance_mark() const { return prefix_ + "flow-maintenance"; }
    static bool is_maintenance_lease(tokend_namespace ns, std::string_view key) {
        return ns == TOKEND_NS_FLOW && key == "flow-maintenance";
    }

    const std::string& channel() const { return channel_; }

private:
    std::string prefix_;
    std::string channel_;
};

// A change message on the channel: "{origin}:{P|D}{u|f}:{key}", origin being the
// writing instance's random id (16 hex digits) so an instance can skip its own.
std::string encode_change(std::string_view origin, tokend_namespace ns, tokend_change change,
                          std::string_view key);

struct ChangeMessage {
    std::string_view origin;
    tokend_namespace ns;
    tokend_change change;
    std::string_view key;
};
std::optional<ChangeMessage> decode_change(std::string_view message);

}  // namespace tokend::redis_store
