// The integrations one tokend serves (docs/providers.md, "Several
// integrations"), and how a user's store key names its integration. No I/O.
//
// The default integration keeps the original's keys: a user's key is the user
// id itself, so existing data and the Python module stay compatible. Another
// integration's users are kept under "<name>/<user_id>": a name is [a-z0-9_-],
// so no Webex person id (base64, which begins "Y2lz") and no key of the
// original can take that shape; a request without an integration that gives
// such a key means that integration's user, and one that names the default
// integration with it is refused (ambiguous_default_user).
// Flows carry the key as their user_id, so /redirect learns a flow's
// integration from the flow it takes; flow keys are unchanged.
#pragma once

#include "core/oauth_settings.h"
#include "core/secret.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

inline constexpr char kIntegrationKeySeparator = '/';

// One integration's settings, secrets filled in.
struct Integration {
    std::string name = "default";
    bool configured = false;  // false: no OAuth integration at all (only the default can be so)
    OAuthSettings oauth;      // client_secret filled in
    Secret bot_token;
    MessageTexts messages;
    std::chrono::milliseconds request_timeout{15000};
    // The oidc preset before its discovery document is read (app/oidc_discovery.h):
    // the endpoints are unknown, so no flow starts and no provider request is made.
    bool awaiting_discovery = false;
};

// A user key taken apart: its integration and the id the provider knows.
struct UserKeyOwner {
    const Integration* integration = nullptr;  // never null
    std::string_view user_id;                  // points into the key
};

class IntegrationSet {
public:
    // The first is the default; names are unique (the configuration checked).
    explicit IntegrationSet(std::vector<Integration> integrations);

    const Integration& default_integration() const { return integrations_.front(); }
    const std::vector<Integration>& all() const { return integrations_; }
    std::vector<Integration>& all() { return integrations_; }
    // By name; nullptr when there is none of that name.
    const Integration* find(std::string_view name) const;
    bool several() const { return integrations_.size() > 1; }

    // The store key of `user_id` in `integration`.
    static std::string key_of(const Integration& integration, bool is_default, std::string_view user_id);
    std::string key_of(const Integration& integration, std::string_view user_id) const {
        return key_of(integration, &integration == &default_integration(), user_id);
    }
    // Whose a key is: "<name>/<id>" of a configured other integration, else
    // the default integration's user `key`.
    UserKeyOwner owner_of(std::string_view key) const;
    // A default-integration user id that would read as another integration's
    // key ("github/123" while github is configured).
    bool ambiguous_default_user(std::string_view user_id) const;
    // The place of an integration of this set in all() (0: the default), and
    // of a key's owner: what per-integration counts are indexed by.
    size_t index_of(const Integration& integration) const {
        return static_cast<size_t>(&integration - integrations_.data());
    }
    size_t index_of_key(std::string_view key) const { return index_of(*owner_of(key).integration); }

private:
    std::vector<Integration> integrations_;
};

}  // namespace tokend
