#include "key_layout.h"

namespace tokend::redis_store {
namespace {

// The original's names: USER_KEY_PREFIX "user" and FLOW_SET "flows", joined with '-'.
std::string_view value_stem(tokend_namespace ns) { return ns == TOKEND_NS_USER ? "user-" : "flows-"; }

constexpr size_t kOriginLength = 16;

}  // namespace

std::string KeyLayout::value_key(tokend_namespace ns, std::string_view key) const {
    std::string name = prefix_;
    name += value_stem(ns);
    name += key;
    return name;
}

std::string KeyLayout::set_key(tokend_namespace ns) const {
    return prefix_ + (ns == TOKEND_NS_USER ? "users" : "flows");
}

std::optional<std::string_view> KeyLayout::key_of_member(tokend_namespace ns,
                                                         std::string_view member) const {
    const std::string_view stem = value_stem(ns);
    if (!member.starts_with(prefix_)) return std::nullopt;
    member.remove_prefix(prefix_.size());
    if (!member.starts_with(stem) || member.size() == stem.size()) return std::nullopt;
    return member.substr(stem.size());
}

std::string KeyLayout::lease_key(tokend_namespace ns, std::string_view key) const {
    std::string name = prefix_ + (ns == TOKEND_NS_USER ? "tokend-lease-user-" : "tokend-lease-flow-");
    name += key;
    return name;
}

std::string encode_change(std::string_view origin, tokend_namespace ns, tokend_change change,
                          std::string_view key) {
    std::string message(origin);
    message += ':';
    message += change == TOKEND_CHANGE_PUT ? 'P' : 'D';
    message += ns == TOKEND_NS_USER ? 'u' : 'f';
    message += ':';
    message += key;
    return message;
}

std::optional<ChangeMessage> decode_change(std::string_view message) {
    if (message.size() < kOriginLength + 4 || message[kOriginLength] != ':' ||
        message[kOriginLength + 3] != ':') {
        return std::nullopt;
    }
    const char change = message[kOriginLength + 1];
    const char ns = message[kOriginLength + 2];
    if ((change != 'P' && change != 'D') || (ns != 'u' && ns != 'f')) return std::nullopt;
    return ChangeMessage{message.substr(0, kOriginLength),
                         ns == 'u' ? TOKEND_NS_USER : TOKEND_NS_FLOW,
                         change == 'P' ? TOKEND_CHANGE_PUT : TOKEND_CHANGE_DELETE,
                         message.substr(kOriginLength + 4)};
}

}  // namespace tokend::redis_store
