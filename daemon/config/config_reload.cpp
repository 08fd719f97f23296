#include "config/config_reload.h"

#include <functional>
#include <utility>

namespace tokend {
namespace {

bool same(const HttpListen& a, const HttpListen& b) { return a.host == b.host && a.port == b.port; }

bool same(const std::vector<HttpListen>& a, const std::vector<HttpListen>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!same(a[i], b[i])) return false;
    }
    return true;
}

bool same(const AccessList& a, const AccessList& b) { return a.uids == b.uids && a.gids == b.gids; }

bool same(const SecretSource& a, const SecretSource& b) {
    return a.file == b.file && a.env == b.env && a.credential_name == b.credential_name;
}

// What a running integration was built from, apart from its secrets and texts.
bool same_settings(const IntegrationConfig& x, const IntegrationConfig& y) {
    return x.configured == y.configured && x.oauth.client_id == y.oauth.client_id && x.oauth.scopes == y.oauth.scopes &&
           x.oauth.redirect_url == y.oauth.redirect_url && x.oauth.auth_service == y.oauth.auth_service &&
           x.oauth.token_service == y.oauth.token_service && x.oauth.api_base == y.oauth.api_base &&
           x.oauth.pkce == y.oauth.pkce && x.oauth.provider == y.oauth.provider &&
           x.request_timeout == y.request_timeout;
}

// The same integrations beside the default, by name and in order: then each
// one's secret sources may change on reload (the list itself needs a restart).
bool same_integration_names(const Config& a, const Config& b) {
    if (a.other_integrations.size() != b.other_integrations.size()) return false;
    for (size_t i = 0; i < a.other_integrations.size(); ++i) {
        if (a.other_integrations[i].name != b.other_integrations[i].name) return false;
    }
    return true;
}

// Each key (or group of keys reported under one name) with its comparison.
using Check = std::pair<const char*, std::function<bool(const Config&, const Config&)>>;

const std::vector<Check>& reloadable_checks() {
    static const std::vector<Check> checks = {
        {"log.level", [](const Config& a, const Config& b) { return a.log.level == b.log.level; }},
        {"flows.ttl", [](const Config& a, const Config& b) { return a.flows.ttl == b.flows.ttl; }},
        {"flows.maintenance_interval",
         [](const Config& a, const Config& b) { return a.flows.maintenance_interval == b.flows.maintenance_interval; }},
        {"flows.allow_without_pkce",
         [](const Config& a, const Config& b) { return a.flows.allow_without_pkce == b.flows.allow_without_pkce; }},
        {"links.ttl", [](const Config& a, const Config& b) { return a.links.ttl == b.links.ttl; }},
        {"links.url", [](const Config& a, const Config& b) { return a.links.url == b.links.url; }},
        {"messages", [](const Config& a, const Config& b) {
             const MessageTexts& x = a.messages;
             const MessageTexts& y = b.messages;
             return x.authenticated == y.authenticated && x.wrong_user == y.wrong_user && x.denied == y.denied &&
                    x.provider_error == y.provider_error && x.expired == y.expired &&
                    x.store_failed == y.store_failed && x.reauth_required == y.reauth_required;
         }},
        // The default's secret sources, while it stays the same integration
        // (another default is a change of `integrations`: a restart).
        {"integration.client_secret",
         [](const Config& a, const Config& b) {
             return a.integration.name != b.integration.name ||
                    same(a.integration.client_secret_source, b.integration.client_secret_source);
         }},
        {"integration.bot_token",
         [](const Config& a, const Config& b) {
             return a.integration.name != b.integration.name ||
                    same(a.integration.bot_token_source, b.integration.bot_token_source);
         }},
    };
    return checks;
}

const std::vector<Check>& restart_checks() {
    static const std::vector<Check> checks = {
        {"state_dir", [](const Config& a, const Config& b) { return a.state_dir == b.state_dir; }},
        {"runtime_dir", [](const Config& a, const Config& b) { return a.runtime_dir == b.runtime_dir; }},
        {"log.format", [](const Config& a, const Config& b) { return a.log.format == b.log.format; }},
        {"store.plugin", [](const Config& a, const Config& b) { return a.store.plugin == b.store.plugin; }},
        {"links.key_file", [](const Config& a, const Config& b) { return a.links.key_file == b.links.key_file; }},
        {"store.plugin_dir", [](const Config& a, const Config& b) { return a.store.plugin_dir == b.store.plugin_dir; }},
        {"store.options", [](const Config& a, const Config& b) { return a.store.options == b.store.options; }},
        {"store.resync_interval",
         [](const Config& a, const Config& b) { return a.store.resync_interval == b.store.resync_interval; }},
        {"integration", [](const Config& a, const Config& b) { return same_settings(a.integration, b.integration); }},
        // The list of integrations is read at start: names, and all of the
        // others but their secret sources (applied, see plan_reload), need a restart.
        {"integrations", [](const Config& a, const Config& b) {
             if (a.integration.name != b.integration.name || a.integration.message_texts != b.integration.message_texts ||
                 !same_integration_names(a, b)) {
                 return false;
             }
             for (size_t i = 0; i < a.other_integrations.size(); ++i) {
                 const IntegrationConfig& x = a.other_integrations[i];
                 const IntegrationConfig& y = b.other_integrations[i];
                 if (!same_settings(x, y) || x.message_texts != y.message_texts) return false;
             }
             return true;
         }},
        // The schedule's deadlines and the token-endpoint gate are built from these.
        {"refresh", [](const Config& a, const Config& b) {
             const RefreshPolicy& x = a.refresh.policy;
             const RefreshPolicy& y = b.refresh.policy;
             const TokenEndpointLimits& p = a.refresh.limits;
             const TokenEndpointLimits& q = b.refresh.limits;
             return x.margin == y.margin && x.fraction == y.fraction && x.jitter == y.jitter &&
                    x.read_margin == y.read_margin && x.refresh_token_margin == y.refresh_token_margin &&
                    x.keepalive == y.keepalive && x.retry_base == y.retry_base && x.retry_cap == y.retry_cap &&
                    p.max_concurrent == q.max_concurrent && p.rate_per_second == q.rate_per_second &&
                    p.burst == q.burst;
         }},
        {"http.listen", [](const Config& a, const Config& b) { return same(a.http.listen, b.http.listen); }},
        {"http limits", [](const Config& a, const Config& b) {
             return a.http.max_connections == b.http.max_connections &&
                    a.http.request_timeout == b.http.request_timeout && a.http.idle_timeout == b.http.idle_timeout;
         }},
        {"control.socket", [](const Config& a, const Config& b) {
             return a.control.socket == b.control.socket && a.control.mode == b.control.mode &&
                    a.control.group == b.control.group;
         }},
        {"control limits", [](const Config& a, const Config& b) {
             return a.control.max_line_bytes == b.control.max_line_bytes &&
                    a.control.max_connections == b.control.max_connections &&
                    a.control.idle_timeout == b.control.idle_timeout;
         }},
        {"control.allow", [](const Config& a, const Config& b) {
             return same(a.control.read, b.control.read) && same(a.control.write, b.control.write) &&
                    same(a.control.refresh_token_readers, b.control.refresh_token_readers) &&
                    a.control.refresh_token_readers_set == b.control.refresh_token_readers_set;
         }},
        {"metrics.listen", [](const Config& a, const Config& b) { return same(a.metrics.listen, b.metrics.listen); }},
        // The key ring is read at start (a rotation's new key needs a restart first).
        {"encryption.active_key",
         [](const Config& a, const Config& b) { return a.encryption.active_key == b.encryption.active_key; }},
        {"encryption.keys", [](const Config& a, const Config& b) {
             if (a.encryption.keys.size() != b.encryption.keys.size()) return false;
             for (size_t i = 0; i < a.encryption.keys.size(); ++i) {
                 const EncryptionKeySource& x = a.encryption.keys[i];
                 const EncryptionKeySource& y = b.encryption.keys[i];
                 if (x.id != y.id || x.source.file != y.source.file ||
                     x.source.credential_name != y.source.credential_name) {
                     return false;
                 }
             }
             return true;
         }},
    };
    return checks;
}

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
    ReloadPlan plan;
    for (const auto& [key, equal] : reloadable_checks()) {
        if (!equal(running, next)) plan.applied.emplace_back(key);
    }
    // The other integrations' secret sources, by name, while the list stays.
    if (same_integration_names(running, next)) {
        for (size_t i = 0; i < running.other_integrations.size(); ++i) {
            const IntegrationConfig& x = running.other_integrations[i];
            const IntegrationConfig& y = next.other_integrations[i];
            if (!same(x.client_secret_source, y.client_secret_source)) {
                plan.applied.push_back("integrations." + x.name + ".client_secret");
            }
            if (!same(x.bot_token_source, y.bot_token_source)) {
                plan.applied.push_back("integrations." + x.name + ".bot_token");
            }
        }
    }
    for (const auto& [key, equal] : restart_checks()) {
        if (!equal(running, next)) plan.restart_required.emplace_back(key);
    }
    return plan;
}

void apply_reloadable(Config* running, const Config& next) {
    running->log = next.log;
    running->flows = next.flows;
    running->links.ttl = next.links.ttl;
    running->links.url = next.links.url;
    running->messages = next.messages;
    // Secret sources go to the same integration by name: another default, or
    // a changed list of the others, waits for a restart (each running
    // integration keeps its own sources meanwhile).
    if (running->integration.name == next.integration.name) {
        running->integration.client_secret_source = next.integration.client_secret_source;
        running->integration.bot_token_source = next.integration.bot_token_source;
    }
    if (!same_integration_names(*running, next)) return;
    for (size_t i = 0; i < running->other_integrations.size(); ++i) {
        running->other_integrations[i].client_secret_source = next.other_integrations[i].client_secret_source;
        running->other_integrations[i].bot_token_source = next.other_integrations[i].bot_token_source;
    }
}

}  // namespace tokend
