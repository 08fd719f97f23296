#include "config/config_keys.h"

#include <stdexcept>
#include <string>

namespace tokend {

const std::vector<ConfigSection>& config_sections() {
    static const std::vector<ConfigSection> sections = {
        {"top level",
         {"state_dir", "runtime_dir", "log", "store", "integration", "integrations", "flows", "links", "refresh", "messages", "http", "control",
          "metrics", "encryption"}},
        {"log", {"level", "format"}},
        {"store", {"plugin", "plugin_dir", "options", "resync_interval"}},
        {"integration",
         {"client_id", "client_secret", "scopes", "redirect_url", "auth_service", "token_service", "api_base", "pkce",
          "bot_token", "request_timeout_ms", "provider"}},
        // An entry of `integrations:`: the keys of `integration` and its own.
        {"integrations",
         {"name", "default", "messages", "client_id", "client_secret", "scopes", "redirect_url", "auth_service",
          "token_service", "api_base", "pkce", "bot_token", "request_timeout_ms", "provider"}},
        {"integration.provider",
         {"preset", "client_auth", "scope_separator", "scope_param", "token_path", "identity", "message", "dead_grant",
          "rotating_refresh_tokens", "refresh_sends_scope", "revocation",
          "issuer", "jwks_uri", "authorize_params"}},
        {"integration.provider.identity", {"url", "user_id", "display", "numeric_user_id"}},
        {"integration.provider.message", {"url", "body", "ok_path", "retry_errors"}},
        {"integration.provider.revocation", {"url"}},
        {"integration.provider.dead_grant", {"errors", "statuses"}},
        {"flows", {"ttl", "maintenance_interval", "allow_without_pkce"}},
        {"links", {"ttl", "url", "key_file"}},
        {"refresh",
         {"margin", "fraction", "jitter", "read_margin", "refresh_token_margin", "keepalive", "retry_base_ms",
          "retry_cap", "max_concurrent", "rate", "burst"}},
        {"messages",
         {"authenticated", "wrong_user", "denied", "provider_error", "expired", "store_failed", "reauth_required"}},
        {"http", {"listen", "max_connections", "request_timeout_ms", "idle_timeout_ms"}},
        {"control",
         {"socket", "mode", "group", "max_line_bytes", "max_connections", "idle_timeout_ms", "allow",
          "refresh_token_readers"}},
        {"control.allow", {"read", "write"}},
        {"metrics", {"listen"}},
        {"encryption", {"active_key", "keys"}},
    };
    return sections;
}

const std::vector<std::string_view>& config_keys(std::string_view section) {
    for (const ConfigSection& known : config_sections()) {
        if (known.name == section) return known.keys;
    }
    throw std::logic_error("no configuration section named '" + std::string(section) + "'");
}

}  // namespace tokend
