#include "config/config_reload.h"

#include "config/config_keys.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace tokend {
namespace {

const ConfigEnvironment kNoSystemd{};

Config parse(const std::string& text) { return parse_config(text, "tokend.yml", kNoSystemd); }

TEST(ConfigReload, NothingChangedIsAnEmptyPlan) {
    const Config config = parse("log:\n  level: info\n");
    const ReloadPlan plan = plan_reload(config, parse("log:\n  level: info\n"));
    EXPECT_TRUE(plan.applied.empty());
    EXPECT_TRUE(plan.restart_required.empty());
}

TEST(ConfigReload, SafeKeysAreAppliedAndOthersLeftAsTheyRun) {
    Config running = parse("http:\n  listen: 127.0.0.1:6001\n");
    const Config next = parse(
        "log:\n  level: debug\nflows:\n  ttl: 60\n  maintenance_interval: 30\nmessages:\n  denied: no\n"
        "http:\n  listen: 127.0.0.1:7001\nstore:\n  plugin: memory\nmetrics:\n  listen: 127.0.0.1:9464\n");
    const ReloadPlan plan = plan_reload(running, next);
    EXPECT_EQ(plan.applied,
              (std::vector<std::string>{"log.level", "flows.ttl", "flows.maintenance_interval", "messages"}));
    EXPECT_EQ(plan.restart_required,
              (std::vector<std::string>{"store.plugin", "store.options", "http.listen", "metrics.listen"}));
    apply_reloadable(&running, next);
    EXPECT_EQ(running.log.level, "debug");
    EXPECT_EQ(running.flows.ttl, std::chrono::seconds(60));
    EXPECT_EQ(running.messages.denied, "no");
    EXPECT_EQ(running.http.listen[0].port, 6001);
    EXPECT_EQ(running.store.plugin, "yaml");
    EXPECT_TRUE(running.metrics.listen.empty());
}

TEST(ConfigReload, TheRefreshScheduleNeedsARestart) {
    const ReloadPlan plan = plan_reload(parse(""), parse("refresh:\n  margin: 900\n"));
    EXPECT_TRUE(plan.applied.empty());
    EXPECT_EQ(plan.restart_required, std::vector<std::string>{"refresh"});
}

TEST(ConfigReload, SecretSourcesMoveButTheIntegrationDoesNot) {
    const std::string base = "integration:\n  client_id: c\n  redirect_url: https://x/redirect\n";
    Config running = parse(base + "  client_secret: {file: /a}\n");
    const Config next = parse(base + "  client_secret: {file: /b}\n  pkce: false\n");
    const ReloadPlan plan = plan_reload(running, next);
    EXPECT_EQ(plan.applied, std::vector<std::string>{"integration.client_secret"});
    EXPECT_EQ(plan.restart_required, std::vector<std::string>{"integration"});
    apply_reloadable(&running, next);
    EXPECT_EQ(running.integration.client_secret_source.file, "/b");
    EXPECT_TRUE(running.integration.oauth.pkce);
}

// A file that sets every key, each to a value that appears once, so that one
// line can be changed at a time.
constexpr const char* kEveryKey = R"(state_dir: /var/lib/tokend-a
runtime_dir: /run/tokend-a
log:
  level: info
  format: text
store:
  plugin: yaml
  plugin_dir: /opt/plugins-a
  resync_interval: 301
  options:
    path: /var/lib/tokend-a/users.yml
integration:
  client_id: C-a
  client_secret: {file: /etc/secret-a}
  bot_token: {env: BOT_A}
  scopes: [spark:a]
  redirect_url: https://bot.example.com/redirect-a
  auth_service: https://auth.example.com/authorize-a
  token_service: https://auth.example.com/token-a
  api_base: https://api.example.com/v1-a
  pkce: true
  request_timeout_ms: 15001
  provider:
    preset: webex
    client_auth: client_secret_post
    scope_separator: " "
    scope_param: scope
    token_path: tokens-a
    identity: {url: "{api_base}/people-a", user_id: id-a, display: display-a, numeric_user_id: false}
    message: {url: "{api_base}/messages-a", body: {to: "{user_id}", text: "{text}"}, ok_path: ok-a, retry_errors: [busy_a]}
    dead_grant: {errors: [error_a], statuses: [401]}
    rotating_refresh_tokens: false
    refresh_sends_scope: false
    revocation: {url: "{api_base}/revoke-a"}
    issuer: https://issuer-a.example
    jwks_uri: https://keys-a.example/certs
    authorize_params: {access_type: offline-a}
flows:
  ttl: 301
  maintenance_interval: 901
  allow_without_pkce: yes
links:
  ttl: 604803
  url: https://bot.example.com/auth-a
  key_file: /etc/tokend/link-a.key
refresh:
  margin: 601
  fraction: 0.25
  jitter: 0.10
  read_margin: 121
  refresh_token_margin: 604801
  keepalive: 2592001
  retry_base_ms: 1001
  retry_cap: 602
  max_concurrent: 4
  rate: 11
  burst: 12
messages:
  authenticated: text-authenticated
  wrong_user: text-wrong-user
  denied: text-denied
  provider_error: text-provider-error
  expired: text-expired
  store_failed: text-store-failed
  reauth_required: text-reauth-required
http:
  listen: 127.0.0.1:6001
  max_connections: 1001
  request_timeout_ms: 10001
  idle_timeout_ms: 30001
control:
  socket: /run/tokend-a/tokend.sock
  mode: 0660
  group: bots-a
  max_line_bytes: 65536
  max_connections: 1002
  idle_timeout_ms: 300001
  allow:
    read: {uids: [1001]}
    write: {uids: [1002]}
  refresh_token_readers: {uids: [1003]}
metrics:
  listen: 127.0.0.1:9464
encryption:
  active_key: key-a
  keys:
    - {id: key-a, file: /etc/tokend/key-a}
)";

// For each key: a line of kEveryKey and what it becomes.
const std::map<std::string, std::pair<std::string, std::string>>& one_line_changes() {
    static const std::map<std::string, std::pair<std::string, std::string>> changes = {
        {"state_dir", {"state_dir: /var/lib/tokend-a", "state_dir: /var/lib/tokend-b"}},
        {"runtime_dir", {"runtime_dir: /run/tokend-a", "runtime_dir: /run/tokend-b"}},
        {"log.level", {"level: info", "level: debug"}},
        {"log.format", {"format: text", "format: json"}},
        {"store.plugin", {"plugin: yaml", "plugin: memory"}},
        {"store.plugin_dir", {"plugin_dir: /opt/plugins-a", "plugin_dir: /opt/plugins-b"}},
        {"store.options", {"path: /var/lib/tokend-a/users.yml", "path: /var/lib/tokend-a/other.yml"}},
        {"store.resync_interval", {"resync_interval: 301", "resync_interval: 0"}},
        {"integration.client_id", {"client_id: C-a", "client_id: C-b"}},
        {"integration.client_secret", {"{file: /etc/secret-a}", "{file: /etc/secret-b}"}},
        {"integration.bot_token", {"{env: BOT_A}", "{env: BOT_B}"}},
        {"integration.scopes", {"[spark:a]", "[spark:b]"}},
        {"integration.redirect_url", {"redirect-a", "redirect-b"}},
        {"integration.auth_service", {"authorize-a", "authorize-b"}},
        {"integration.token_service", {"token-a", "token-b"}},
        {"integration.api_base", {"v1-a", "v1-b"}},
        {"integration.pkce", {"pkce: true", "pkce: false"}},
        {"integration.request_timeout_ms", {"request_timeout_ms: 15001", "request_timeout_ms: 15002"}},
        {"integration.provider.preset", {"preset: webex", "preset: github"}},
        {"integration.provider.client_auth", {"client_secret_post", "client_secret_basic"}},
        {"integration.provider.scope_separator", {"scope_separator: \" \"", "scope_separator: \",\""}},
        {"integration.provider.scope_param", {"scope_param: scope", "scope_param: user_scope"}},
        {"integration.provider.token_path", {"tokens-a", "tokens-b"}},
        {"integration.provider.identity.url", {"people-a", "people-b"}},
        {"integration.provider.identity.user_id", {"id-a", "id-b"}},
        {"integration.provider.identity.display", {"display-a", "display-b"}},
        {"integration.provider.identity.numeric_user_id", {"numeric_user_id: false", "numeric_user_id: true"}},
        {"integration.provider.message.url", {"messages-a", "messages-b"}},
        {"integration.provider.message.body", {"to: \"{user_id}\"", "channel: \"{user_id}\""}},
        {"integration.provider.message.ok_path", {"ok-a", "ok-b"}},
        {"integration.provider.message.retry_errors", {"busy_a", "busy_b"}},
        {"integration.provider.dead_grant.errors", {"error_a", "error_b"}},
        {"integration.provider.dead_grant.statuses", {"statuses: [401]", "statuses: [403]"}},
        {"integration.provider.rotating_refresh_tokens", {"rotating_refresh_tokens: false", "rotating_refresh_tokens: true"}},
        {"integration.provider.refresh_sends_scope", {"refresh_sends_scope: false", "refresh_sends_scope: true"}},
        {"integration.provider.revocation.url", {"revoke-a", "revoke-b"}},
        {"integration.provider.issuer", {"issuer-a", "issuer-b"}},
        {"integration.provider.jwks_uri", {"keys-a", "keys-b"}},
        {"integration.provider.authorize_params", {"offline-a", "offline-b"}},
        {"flows.ttl", {"ttl: 301", "ttl: 302"}},
        {"flows.maintenance_interval", {"maintenance_interval: 901", "maintenance_interval: 902"}},
        {"flows.allow_without_pkce", {"allow_without_pkce: yes", "allow_without_pkce: no"}},
        {"links.ttl", {"ttl: 604803", "ttl: 604804"}},
        {"links.url", {"auth-a", "auth-b"}},
        {"links.key_file", {"link-a.key", "link-b.key"}},
        {"refresh.margin", {"margin: 601", "margin: 603"}},
        {"refresh.fraction", {"fraction: 0.25", "fraction: 0.3"}},
        {"refresh.jitter", {"jitter: 0.10", "jitter: 0.2"}},
        {"refresh.read_margin", {"read_margin: 121", "read_margin: 122"}},
        {"refresh.refresh_token_margin", {"refresh_token_margin: 604801", "refresh_token_margin: 604802"}},
        {"refresh.keepalive", {"keepalive: 2592001", "keepalive: 2592002"}},
        {"refresh.retry_base_ms", {"retry_base_ms: 1001", "retry_base_ms: 1002"}},
        {"refresh.retry_cap", {"retry_cap: 602", "retry_cap: 604"}},
        {"refresh.max_concurrent", {"max_concurrent: 4", "max_concurrent: 5"}},
        {"refresh.rate", {"rate: 11", "rate: 13"}},
        {"refresh.burst", {"burst: 12", "burst: 14"}},
        {"messages.authenticated", {"text-authenticated", "other"}},
        {"messages.wrong_user", {"text-wrong-user", "other"}},
        {"messages.denied", {"text-denied", "other"}},
        {"messages.provider_error", {"text-provider-error", "other"}},
        {"messages.expired", {"text-expired", "other"}},
        {"messages.store_failed", {"text-store-failed", "other"}},
        {"messages.reauth_required", {"text-reauth-required", "other"}},
        {"http.listen", {"listen: 127.0.0.1:6001", "listen: 127.0.0.1:6002"}},
        {"http.max_connections", {"max_connections: 1001", "max_connections: 1011"}},
        {"http.request_timeout_ms", {"request_timeout_ms: 10001", "request_timeout_ms: 10002"}},
        {"http.idle_timeout_ms", {"idle_timeout_ms: 30001", "idle_timeout_ms: 30002"}},
        {"control.socket", {"/run/tokend-a/tokend.sock", "/run/tokend-a/other.sock"}},
        {"control.mode", {"mode: 0660", "mode: 0600"}},
        {"control.group", {"group: bots-a", "group: bots-b"}},
        {"control.max_line_bytes", {"max_line_bytes: 65536", "max_line_bytes: 65537"}},
        {"control.max_connections", {"max_connections: 1002", "max_connections: 1012"}},
        {"control.idle_timeout_ms", {"idle_timeout_ms: 300001", "idle_timeout_ms: 300002"}},
        {"control.allow.read", {"[1001]", "[1011]"}},
        {"control.allow.write", {"[1002]", "[1012]"}},
        {"control.refresh_token_readers", {"[1003]", "[1013]"}},
        {"metrics.listen", {"listen: 127.0.0.1:9464", "listen: 127.0.0.1:9465"}},
        {"encryption.active_key", {"active_key: key-a", "active_key: null"}},
        {"encryption.keys", {"file: /etc/tokend/key-a", "file: /etc/tokend/key-b"}},
    };
    return changes;
}

// The leaf keys of the file: a section's keys that are not sections themselves.
std::vector<std::string> every_leaf_key() {
    std::set<std::string> sections;
    for (const ConfigSection& section : config_sections()) sections.emplace(section.name);
    std::vector<std::string> leaves;
    for (const ConfigSection& section : config_sections()) {
        const std::string prefix = section.name == "top level" ? "" : std::string(section.name) + ".";
        for (std::string_view key : section.keys) {
            const std::string path = prefix + std::string(key);
            if (!sections.count(path)) leaves.push_back(path);
        }
    }
    return leaves;
}

TEST(ConfigReload, EveryKeyOfTheFileIsEitherAppliedOrNeedsARestart) {
    const Config running = parse(kEveryKey);
    EXPECT_TRUE(plan_reload(running, parse(kEveryKey)).applied.empty());
    const std::vector<std::string> leaves = every_leaf_key();
    ASSERT_GT(leaves.size(), 40u);
    for (const std::string& key : leaves) {
        SCOPED_TRACE(key);
        // `integrations` excludes `integration` (which this file has): a change
        // of the list needs a restart (ConfigIntegrations.ChangingTheListNeedsARestart).
        if (key.rfind("integrations.", 0) == 0) continue;
        const auto change = one_line_changes().find(key);
        ASSERT_NE(change, one_line_changes().end())
            << "a new configuration key: give it a check in config_reload.cpp and a change here";
        const auto& [from, to] = change->second;
        std::string text = kEveryKey;
        const size_t at = text.find(from);
        ASSERT_NE(at, std::string::npos);
        ASSERT_EQ(text.find(from, at + 1), std::string::npos) << "'" << from << "' is not unique";
        text.replace(at, from.size(), to);
        const ReloadPlan plan = plan_reload(running, parse(text));
        EXPECT_EQ(plan.applied.size() + plan.restart_required.size(), 1u)
            << "SIGHUP must either apply the change or say that it needs a restart";
    }
}

TEST(ConfigReload, LinkTtlAndUrlApplyTheKeyNeedsARestart) {
    Config running = parse("links:\n  ttl: 3600\n");
    const Config next = parse("links:\n  ttl: 7200\n  url: https://h.example/auth\n  key_file: /k\n");
    const ReloadPlan plan = plan_reload(running, next);
    EXPECT_EQ(plan.applied, (std::vector<std::string>{"links.ttl", "links.url"}));
    EXPECT_EQ(plan.restart_required, (std::vector<std::string>{"links.key_file"}));
    apply_reloadable(&running, next);
    EXPECT_EQ(running.links.ttl, std::chrono::seconds(7200));
    EXPECT_EQ(running.links.url, "https://h.example/auth");
    EXPECT_EQ(running.links.key_file, "");
}

TEST(ConfigReload, MetricsListenParsesLikeHttpListen) {
    const Config config = parse("metrics:\n  listen: ['127.0.0.1:9464', '[::1]:0']\n");
    ASSERT_EQ(config.metrics.listen.size(), 2u);
    EXPECT_EQ(config.metrics.listen[1].host, "::1");
    EXPECT_TRUE(parse("").metrics.listen.empty());
    EXPECT_THROW(parse("metrics:\n  listen: localhost\n"), ConfigError);
    EXPECT_THROW(parse("metrics:\n  port: 1\n"), ConfigError);
}

}  // namespace
}  // namespace tokend
