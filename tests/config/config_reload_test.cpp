#include "config/config_reload.h"

#include <gtest/gtest.h>

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
