#include "config/config.h"
#include "expect_config_error.h"
#include "core/json_limits.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

const ConfigEnvironment kNoSystemd{};


TEST(Config, EmbeddedDefaultIsTheYamlStoreUnderState) {
    const Config config = default_config(kNoSystemd);
    EXPECT_EQ(config.store.plugin, "yaml");
    EXPECT_EQ(config.store.options, nlohmann::ordered_json({{"path", "state/users.yml"}}));
    EXPECT_EQ(config.log.level, "info");
    EXPECT_EQ(parse_config("", "tokend.yml", kNoSystemd).store.options, config.store.options);
}

TEST(Config, SystemdStateDirectoryMovesTheDefault) {
    const Config config = default_config(ConfigEnvironment{"/var/lib/tokend", "/run/tokend"});
    EXPECT_EQ(config.state_dir, "/var/lib/tokend");
    EXPECT_EQ(config.store.options["path"], "/var/lib/tokend/users.yml");
    EXPECT_EQ(config.control.socket, "/run/tokend/tokend.sock");
}

TEST(Config, DefaultsForTheRestOfTheDaemon) {
    const Config config = default_config(kNoSystemd);
    EXPECT_FALSE(config.integration.configured);
    EXPECT_EQ(config.control.socket, "run/tokend.sock");
    EXPECT_EQ(config.control.mode, 0660u);
    ASSERT_EQ(config.http.listen.size(), 1u);
    EXPECT_EQ(config.http.listen[0].host, "127.0.0.1");
    EXPECT_EQ(config.http.listen[0].port, 6001);
    EXPECT_EQ(config.flows.ttl, std::chrono::seconds{300});
    EXPECT_EQ(config.flows.maintenance_interval, std::chrono::seconds{900});
    EXPECT_TRUE(config.flows.allow_without_pkce);
    EXPECT_EQ(config.links.ttl, std::chrono::seconds{7 * 86400});
    EXPECT_EQ(config.links.url, "");
    EXPECT_EQ(config.links.key_file, "");
    EXPECT_EQ(config.store.resync_interval, std::chrono::seconds{0});  // off: a pass is costly
    EXPECT_EQ(config.integration.client_secret_source.credential_name, "client_secret");
}

TEST(Config, ReadsTheIntegrationAndTheRest) {
    const Config config = parse_config(R"(
integration:
  client_id: C0ffee
  client_secret: {file: /run/credentials/tokend.service/client_secret}
  bot_token: {env: BOT_TOKEN}
  scopes: spark:people_read spark:kms
  redirect_url: https://bot.example.com/redirect
  token_service: http://127.0.0.1:6002/v1/access_token
  auth_service: http://127.0.0.1:6002/v1/authorize
  api_base: http://127.0.0.1:6002/v1/
  pkce: false
flows:
  ttl: 120
  maintenance_interval: 60
  allow_without_pkce: false
messages:
  authenticated: "Welcome! Valid until {expires_at}."
http:
  listen: ["127.0.0.1:7001", "[::1]:7002"]
  request_timeout_ms: 5000
control:
  socket: /run/tokend/control.sock
  mode: 0600
  group: bots
  allow:
    read: {uids: [1000, 1001]}
    write: {gids: [998]}
  refresh_token_readers: {uids: [1000]}
)", "tokend.yml", kNoSystemd);
    const auto& oauth = config.integration.oauth;
    EXPECT_TRUE(config.integration.configured);
    EXPECT_EQ(oauth.client_id, "C0ffee");
    EXPECT_TRUE(oauth.client_secret.empty());  // read at start, not here
    EXPECT_EQ(config.integration.client_secret_source.file, "/run/credentials/tokend.service/client_secret");
    EXPECT_EQ(config.integration.bot_token_source.env, "BOT_TOKEN");
    EXPECT_EQ(oauth.scopes, (std::vector<std::string>{"spark:people_read", "spark:kms"}));
    EXPECT_EQ(oauth.api_base, "http://127.0.0.1:6002/v1");
    EXPECT_FALSE(oauth.pkce);
    EXPECT_EQ(config.flows.ttl, std::chrono::seconds{120});
    EXPECT_FALSE(config.flows.allow_without_pkce);
    EXPECT_EQ(config.messages.authenticated, "Welcome! Valid until {expires_at}.");
    ASSERT_EQ(config.http.listen.size(), 2u);
    EXPECT_EQ(config.http.listen[1].host, "::1");
    EXPECT_EQ(config.http.listen[1].port, 7002);
    EXPECT_EQ(config.control.mode, 0600u);
    EXPECT_EQ(config.control.read.uids, (std::vector<long>{1000, 1001}));
    EXPECT_TRUE(config.control.read.gids.empty());
    EXPECT_EQ(config.control.write.gids, (std::vector<long>{998}));
    EXPECT_TRUE(config.control.refresh_token_readers_set);
}

TEST(Config, SecretsDoNotBelongInTheFile) {
    expect_error("integration:\n  client_id: c\n  redirect_url: http://x/redirect\n  client_secret: hunter2\n",
                 "tokend.yml:4: 'integration.client_secret' takes {file: PATH} or {env: NAME}");
    expect_error("integration:\n  client_id: c\n  redirect_url: http://x/redirect\n  client_secret: {file: a, env: B}\n",
                 "either file or env");
}

TEST(Config, ProviderEndpointsOverPlainHttpOnlyToLoopback) {
    const std::string head = "integration:\n  client_id: c\n  redirect_url: http://bot.example.com/redirect\n";
    expect_error(head + "  token_service: http://webexapis.com/v1/access_token\n",
                 "tokend.yml:4: 'integration.token_service' must be an https:// URL (http:// is allowed only to a "
                 "loopback host");
    expect_error(head + "  auth_service: http://webexapis.com:80/v1/authorize\n",
                 "'integration.auth_service' must be an https:// URL");
    expect_error(head + "  api_base: http://user@10.0.0.1/v1\n", "'integration.api_base' must be an https:// URL");
    expect_error(head + "  api_base: http://127.0.0.1.example.com/v1\n", "'integration.api_base' must be");
    expect_error(head + "  api_base: http://[::2]:80/v1\n", "'integration.api_base' must be");
    for (const char* host : {"127.0.0.1:6002", "127.1.2.3", "localhost:8080", "LOCALHOST", "[::1]:6002"}) {
        const Config config = parse_config(head + "  token_service: http://" + host + "/t\n  auth_service: http://" +
                                               host + "/a\n  api_base: http://" + host + "/v1\n",
                                           "tokend.yml", kNoSystemd);
        EXPECT_EQ(config.integration.oauth.api_base, std::string("http://") + host + "/v1");
    }
    // https anywhere, and tokend's own redirect URL may be plain http (a proxy in front).
    const Config config = parse_config(head + "  api_base: https://webexapis.com/v1\n", "tokend.yml", kNoSystemd);
    EXPECT_EQ(config.integration.oauth.api_base, "https://webexapis.com/v1");
}

TEST(Config, IntegrationNeedsItsEssentials) {
    expect_error("integration:\n  redirect_url: http://x/redirect\n", "'integration' needs client_id");
    expect_error("integration:\n  client_id: c\n  redirect_url: ftp://x\n", "must be an http:// or https:// URL");
    expect_error("flows:\n  ttl: 0\n", "'flows.ttl' must be between 1 and 86400");
    expect_error("flows:\n  allow_without_pkce: maybe\n", "'flows.allow_without_pkce' must be true or false");
    expect_error("links:\n  ttl: 10\n", "'links.ttl' must be between 60 and 31622400");
    expect_error("links:\n  url: bot.example.com/auth\n", "'links.url' must be an http:// or https:// URL");
    expect_error("links:\n  secret: x\n", "unknown key 'secret' in 'links'");
    expect_error("http:\n  listen: localhost\n", "http.listen entries look like");
    expect_error("http:\n  listen: 127.0.0.1:99999\n", "must be between 0 and 65535");
    expect_error("control:\n  mode: 01777\n", "'control.mode' must be between");
    expect_error("control:\n  allow:\n    admin: {}\n", "unknown key 'admin' in 'control.allow'");
    expect_error("messages:\n  hello: hi\n", "unknown key 'hello' in 'messages'");
}

TEST(Config, ReadsEveryKey) {
    const Config config = parse_config(R"(
state_dir: /srv/tokend
log:
  level: debug
store:
  plugin: redis
  plugin_dir: /opt/tokend/plugins
  resync_interval: 600
  options:
    redis_url: "redis://localhost:6379/0"
    timeout_ms: 500
    tls: false
    ratio: 0.5
    name: "007"
    hosts: [a, b]
    nothing: ~
)", "tokend.yml", kNoSystemd);
    EXPECT_EQ(config.state_dir, "/srv/tokend");
    EXPECT_EQ(config.log.level, "debug");
    EXPECT_EQ(config.store.plugin, "redis");
    EXPECT_EQ(config.store.plugin_dir, "/opt/tokend/plugins");
    EXPECT_EQ(config.store.resync_interval, std::chrono::seconds(600));
    EXPECT_EQ(config.store.options.dump(),
              R"({"redis_url":"redis://localhost:6379/0","timeout_ms":500,"tls":false,"ratio":0.5,)"
              R"("name":"007","hosts":["a","b"],"nothing":null})");
}

// Issue 13 item 1: the options become JSON the plugin parses and tokend copies
// and dumps, each recursing once per level; they are bounded like every other
// JSON tokend handles (core/json_limits.h).
TEST(Config, PluginOptionsNestedDeeperThanTheJsonLimitAreRefused) {
    const auto nested = [](size_t levels) {  // store.options is level 1
        std::string value = "1";
        for (size_t i = 1; i < levels; ++i) value = (i % 2 ? "[" : "{a: ") + value + (i % 2 ? "]" : "}");
        return "store:\n  plugin: memory\n  options:\n    deep: " + value + "\n";
    };
    const Config fits = parse_config(nested(kMaxJsonDepth), "tokend.yml", kNoSystemd);
    EXPECT_TRUE(json_depth_within(fits.store.options.dump(), kMaxJsonDepth));
    EXPECT_FALSE(json_depth_within(fits.store.options.dump(), kMaxJsonDepth - 1));
    expect_error(nested(kMaxJsonDepth + 1), "tokend.yml:4: 'store.options' nests deeper than 64 levels");
    expect_error(nested(200), "'store.options' nests deeper than 64 levels");
}

// Found by fuzz/config_fuzzer.cpp: the options are JSON text for the plugin,
// and bytes that are not UTF-8 made the depth check's dump throw out of parse_config.
TEST(Config, PluginOptionsThatAreNotUtf8AreRefused) {
    expect_error("store:\n  plugin: memory\n  options:\n    key_prefix: \"a\xca\xfe\"\n",
                 "tokend.yml:4: 'store.options' holds text that is not valid UTF-8");
}

// Found by fuzz/config_fuzzer.cpp: a flow mapping's key can be a sequence,
// which JSON cannot hold; yaml-cpp's conversion error escaped parse_config.
TEST(Config, PluginOptionKeysThatAreNotTextAreRefused) {
    expect_error("store:\n  plugin: memory\n  options: {key_prefix: a, [1, {deep: ~}]}\n",
                 "tokend.yml:3: 'store.options' has a key that is a sequence or mapping, not text");
    expect_error("store:\n  plugin: memory\n  options:\n    ? {a: 1}\n    : x\n",
                 "tokend.yml:4: 'store.options' has a key that is a sequence or mapping, not text");
    // A null key reads as "null", as before.
    EXPECT_EQ(parse_config("store:\n  plugin: memory\n  options: {~: 1}\n", "tokend.yml", {}).store.options.dump(),
              "{\"null\":1}");
}

TEST(Config, AnotherPluginDoesNotInheritTheYamlDefaults) {
    const Config config = parse_config("store:\n  plugin: memory\n", "tokend.yml", kNoSystemd);
    EXPECT_EQ(config.store.options, nlohmann::ordered_json::object());
}

TEST(Config, StateDirMovesTheDefaultStoreFile) {
    const Config config = parse_config("state_dir: /tmp/x\n", "tokend.yml", kNoSystemd);
    EXPECT_EQ(config.store.options["path"], "/tmp/x/users.yml");
}

TEST(Config, UnknownKeysAreRefusedWithNameAndLine) {
    expect_error("log:\n  level: info\nstroe:\n  plugin: yaml\n", "tokend.yml:3: unknown key 'stroe' in 'top level'");
    expect_error("store:\n  plugin: yaml\n  colour: blue\n", "tokend.yml:3: unknown key 'colour' in 'store'");
    expect_error("log:\n  lvl: debug\n", "tokend.yml:2: unknown key 'lvl' in 'log'");
}

// Aliases may shorten a configuration, but nested ones expand exponentially: the only
// walk of arbitrary depth (store.options, turned into JSON) stops at a cap instead.
// Found by fuzz/config_fuzzer.cpp: a self-referencing alias is a cycle, which
// the conversion to JSON followed until the stack overflowed.
TEST(Config, ASelfReferencingAliasInStoreOptionsIsRefused) {
    expect_error("store:\n  plugin: memory\n  options: &x {k: [*x]}\n",
                 "tokend.yml:3: 'store.options' nests deeper than 64 levels");
}

TEST(Config, NestedAliasesInStoreOptionsAreCapped) {
    std::string text = "store:\n  plugin: redis\n  options:\n    l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
    for (int level = 1; level <= 11; ++level) {
        const std::string before = "*l" + std::to_string(level - 1);
        text += "    l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + before;
        for (int i = 1; i < 10; ++i) text += ", " + before;
        text += "]\n";
    }
    expect_error(text, "tokend.yml:4: 'store.options' expands to more than 10000 values");
    // A few aliases are fine and read as their values.
    const Config config = parse_config(
        "store:\n  plugin: redis\n  options:\n    a: &u redis://h/0\n    b: *u\n    c: &l [1, 2]\n    d: *l\n",
        "tokend.yml", kNoSystemd);
    EXPECT_EQ(config.store.options.dump(), R"({"a":"redis://h/0","b":"redis://h/0","c":[1,2],"d":[1,2]})");
}

TEST(Config, BadValuesAreRefused) {
    expect_error("log:\n  level: loud\n", "tokend.yml:2: log.level must be one of");
    expect_error("log:\n  level: loud\n", "trace, debug, info, warning (or warn), error");
    expect_error("log:\n  level: err\n", "tokend.yml:2: log.level must be one of");
    expect_error("log:\n  format: xml\n", "tokend.yml:2: log.format must be one of auto, text, json");
    expect_error("store: yaml\n", "tokend.yml:1: 'store' must be a mapping");
    expect_error("store:\n  plugin: [a]\n", "'store.plugin' must be a non-empty string");
    expect_error("store:\n  plugin: \"\"\n", "'store.plugin' must be a non-empty string");
    expect_error("store:\n  options: [1, 2]\n", "'store.options' must be a mapping");
    expect_error("store:\n  resync_interval: -1\n", "tokend.yml:2: 'store.resync_interval' must be between 0 and 86400");
    expect_error("store:\n  resync_interval: often\n", "'store.resync_interval' must be");
    expect_error("store:\n  resync_interval: 86401\n", "'store.resync_interval' must be between");
    expect_error("- a\n- b\n", "'top level' must be a mapping");
}

TEST(Config, RefreshSectionIsReadWhole) {
    const Config config = parse_config(
        "refresh:\n  margin: 30\n  fraction: 0.4\n  jitter: 0\n  read_margin: 5\n  refresh_token_margin: 3600\n"
        "  keepalive: 600\n  retry_base_ms: 250\n  retry_cap: 9\n  max_concurrent: 2\n  rate: 0.5\n  burst: 3\n"
        "messages:\n  reauth_required: \"again: {auth_url}\"\n",
        "tokend.yml", kNoSystemd);
    const RefreshPolicy& policy = config.refresh.policy;
    EXPECT_EQ(policy.margin, std::chrono::seconds(30));
    EXPECT_DOUBLE_EQ(policy.fraction, 0.4);
    EXPECT_DOUBLE_EQ(policy.jitter, 0.0);
    EXPECT_EQ(policy.read_margin, std::chrono::seconds(5));
    EXPECT_EQ(policy.refresh_token_margin, std::chrono::seconds(3600));
    EXPECT_EQ(policy.keepalive, std::chrono::seconds(600));
    EXPECT_EQ(policy.retry_base, std::chrono::milliseconds(250));
    EXPECT_EQ(policy.retry_cap, std::chrono::milliseconds(9000));
    EXPECT_EQ(config.refresh.limits.max_concurrent, 2u);
    EXPECT_DOUBLE_EQ(config.refresh.limits.rate_per_second, 0.5);
    EXPECT_DOUBLE_EQ(config.refresh.limits.burst, 3.0);
    EXPECT_EQ(config.messages.reauth_required, "again: {auth_url}");
}

TEST(Config, BadRefreshValuesAreRefused) {
    expect_error("refresh:\n  fraction: 0.9\n", "tokend.yml:2: 'refresh.fraction' must be between 0 and 0.5");
    expect_error("refresh:\n  jitter: lots\n", "tokend.yml:2: 'refresh.jitter' must be a number");
    expect_error("refresh:\n  fraction: .nan\n", "'refresh.fraction' must be");
    expect_error("refresh:\n  max_concurrent: 0\n", "'refresh.max_concurrent' must be between 1 and 1000");
    expect_error("refresh:\n  rate: -1\n", "'refresh.rate' must be between");
    expect_error("refresh:\n  retry_base_ms: 5000\n  retry_cap: 1\n", "must not be shorter than retry_base_ms");
    expect_error("refresh:\n  keepalive: 10\n", "'refresh.keepalive' must be between 60");
    expect_error("refresh:\n  margn: 10\n", "tokend.yml:2: unknown key 'margn' in 'refresh'");
    expect_error("refresh: 5\n", "'refresh' must be a mapping");
}

TEST(Config, BrokenYamlNamesTheLine) {
    expect_error("log:\n  level: info\nstore: {plugin: yaml\n", "tokend.yml:4: not valid YAML");
}

TEST(Config, MissingFileIsAClearError) {
    try {
        load_config_file("/nonexistent/tokend.yml", kNoSystemd);
        FAIL();
    } catch (const ConfigError& error) {
        EXPECT_STREQ(error.what(), "/nonexistent/tokend.yml: cannot read the configuration file: No such file or directory");
    }
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// The shipped, documented file must stay valid and mean the embedded default.
TEST(Config, ShippedFileParses) {
    const Config config = load_config_file(TOKEND_SOURCE_DIR "/etc/tokend.yml", kNoSystemd);
    EXPECT_EQ(config.store.plugin, "yaml");
    EXPECT_EQ(config.store.options["path"], "/var/lib/tokend/users.yml");
    EXPECT_EQ(config.log.level, "info");
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// Issue 18: one spelling of levels (warning), warn kept as its alias; log.format.
TEST(ConfigLog, WarningIsTheSpellingAndWarnItsAlias) {
    EXPECT_EQ(parse_config("log:\n  level: warning\n", "tokend.yml", ConfigEnvironment{}).log.level, "warning");
    EXPECT_EQ(parse_config("log:\n  level: warn\n", "tokend.yml", ConfigEnvironment{}).log.level, "warning");
    EXPECT_EQ(parse_config("log:\n  level: error\n", "tokend.yml", ConfigEnvironment{}).log.level, "error");
}

TEST(ConfigLog, FormatDefaultsToAuto) {
    EXPECT_EQ(parse_config("log:\n  level: info\n", "tokend.yml", ConfigEnvironment{}).log.format, "auto");
    EXPECT_EQ(parse_config("log:\n  format: json\n", "tokend.yml", ConfigEnvironment{}).log.format, "json");
    EXPECT_EQ(parse_config("log:\n  format: text\n", "tokend.yml", ConfigEnvironment{}).log.format, "text");
}

TEST(ConfigEncryption, OffByDefault) {
    const Config config = parse_config("", "t.yml", {});
    EXPECT_TRUE(config.encryption.keys.empty());
    EXPECT_EQ(config.encryption.active_key, "");
}

TEST(ConfigEncryption, KeysByFileOrCredentialAndTheActiveOne) {
    const Config config = parse_config(
        "encryption:\n  active_key: k2\n  keys:\n    - {id: k2, credential: tokend-key-k2}\n"
        "    - {id: k1, file: /etc/tokend/keys/k1}\n",
        "t.yml", {});
    ASSERT_EQ(config.encryption.keys.size(), 2u);
    EXPECT_EQ(config.encryption.active_key, "k2");
    EXPECT_EQ(config.encryption.keys[0].source.credential_name, "tokend-key-k2");
    EXPECT_EQ(config.encryption.keys[0].source.file, "");
    EXPECT_EQ(config.encryption.keys[1].source.file, "/etc/tokend/keys/k1");
    // Keys without an active one: the downgrade.
    EXPECT_EQ(parse_config("encryption:\n  keys:\n    - {id: k1, file: /k}\n", "t.yml", {}).encryption.active_key, "");
}

TEST(ConfigEncryption, MistakesAreRefusedWithTheirLine) {
    expect_error("encryption:\n  active_key: k3\n  keys:\n    - {id: k1, file: /k}\n",
                 "tokend.yml:2: 'encryption.active_key' k3 is not one of 'encryption.keys'");
    expect_error("encryption:\n  keys:\n    - {id: k1}\n",
                 "tokend.yml:3: key 'k1' needs file (a path) or credential (a systemd credential name); the key itself "
                 "does not belong in this file");
    expect_error("encryption:\n  keys:\n    - {id: k1, file: /a}\n    - {id: k1, file: /b}\n",
                 "tokend.yml:4: key id 'k1' is listed twice in 'encryption.keys'");
    expect_error("encryption:\n  keys:\n    - {id: 'a:b', file: /a}\n",
                 "tokend.yml:3: 'encryption.keys.id': a key id holds only A-Z a-z 0-9 _ - .");
    expect_error("encryption:\n  keys:\n    - {id: k1, file: /a, credential: c}\n",
                 "tokend.yml:3: key 'k1' takes file or credential, not both");
    expect_error("encryption:\n  keys:\n    - {id: k1, key: c2VjcmV0}\n",
                 "tokend.yml:3: unknown key 'key' in 'encryption.keys'");
    expect_error("encryption:\n  keys: /etc/key\n",
                 "tokend.yml:2: 'encryption.keys' must be a list of {id, file} or {id, credential}");
}

}  // namespace
}  // namespace tokend
