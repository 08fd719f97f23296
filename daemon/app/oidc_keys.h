// The OpenID Connect provider's signing keys (its JWKS), fetched over HTTP and
// cached: fetched at the first login that needs them, again when an id_token
// names a kid the cached set lacks (the provider rotated its keys; such
// refetches at most once a minute, so a provider answering unknown kids cannot
// make tokend fetch at each login), and when the cached set is older than six
// hours (a key the provider withdrew stops being trusted). A failed fetch
// keeps the cached set.
// Loop thread only.
#pragma once

#include "app/outbound_sender.h"
#include "core/id_token.h"
#include "core/iso_time.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokend {

class OidcKeys {
public:
    // keys is nullptr when there are none to be had (error says why, for the log).
    using Done = std::function<void(std::shared_ptr<const JsonWebKeySet> keys, std::string error)>;

    static constexpr std::chrono::seconds kMinRefetchInterval{60};
    static constexpr std::chrono::hours kMaxAge{6};

    explicit OidcKeys(OutboundSender& outbound) : outbound_(outbound) {}

    // The keys for an id_token whose header names key_id ("" if none), from jwks_uri.
    void keys_for(const std::string& jwks_uri, const std::string& key_id, Timestamp now, Done done);

private:
    bool has_key(const std::string& key_id) const;
    void fetch(const std::string& jwks_uri, Timestamp now);

    OutboundSender& outbound_;
    std::string cached_uri_;
    std::shared_ptr<const JsonWebKeySet> cached_;
    std::optional<Timestamp> cached_at_;
    std::optional<Timestamp> last_kid_refetch_;
    std::vector<Done> waiting_;  // while a fetch is in flight, every caller waits for it
};

}  // namespace tokend
