// Issue 17 item 3: the `integrations:` list.
#include "config/config.h"
#include "expect_config_error.h"
#include "config/config_reload.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

const ConfigEnvironment kNoSystemd{};

std::string entry(const std::string& name, const std::string& extra = "") {
    return "  - name: " + name + "\n    client_id: " + name + "-id\n    redirect_url: https://bot.example/redirect\n" +
           extra;
}


TEST(ConfigIntegrations, TheSingleSectionIsTheDefaultIntegration) {
    const Config config =
        parse_config("integration:\n  client_id: c\n  redirect_url: https://b.example/redirect\n", "t", kNoSystemd);
    EXPECT_EQ(config.integration.name, "default");
    EXPECT_TRUE(config.other_integrations.empty());
}

TEST(ConfigIntegrations, TheFirstIsTheDefaultUnlessOneIsMarked) {
    Config config = parse_config("integrations:\n" + entry("webex") + entry("github", "    provider: github\n"), "t",
                                 kNoSystemd);
    EXPECT_EQ(config.integration.name, "webex");
    EXPECT_TRUE(config.integration.configured);
    ASSERT_EQ(config.other_integrations.size(), 1u);
    EXPECT_EQ(config.other_integrations[0].name, "github");
    EXPECT_EQ(config.other_integrations[0].oauth.provider.name, "github");
    EXPECT_EQ(config.other_integrations[0].client_secret_source.credential_name, "github_client_secret");
    EXPECT_EQ(config.integration.client_secret_source.credential_name, "client_secret");

    config = parse_config("integrations:\n" + entry("github") + entry("webex", "    default: true\n"), "t", kNoSystemd);
    EXPECT_EQ(config.integration.name, "webex");
    ASSERT_EQ(config.other_integrations.size(), 1u);
    EXPECT_EQ(config.other_integrations[0].name, "github");
}

TEST(ConfigIntegrations, AnIntegrationsOwnMessagesOverTheTopLevelOnes) {
    const Config config = parse_config("messages:\n  denied: top denied\n  expired: top expired\nintegrations:\n" +
                                           entry("webex") + entry("github", "    messages:\n      denied: gh denied\n"),
                                       "t", kNoSystemd);
    const MessageTexts github = messages_of(config, config.other_integrations[0]);
    EXPECT_EQ(github.denied, "gh denied");
    EXPECT_EQ(github.expired, "top expired");
    EXPECT_EQ(messages_of(config, config.integration).denied, "top denied");
}

TEST(ConfigIntegrations, MistakesAreRefusedWithTheirLine) {
    expect_error("integrations:\n" + entry("webex") + entry("webex"),
                 "tokend.yml:5: integration name 'webex' is used twice (first at line 2)");
    expect_error("integrations:\n" + entry("Web ex"), "tokend.yml:2: 'integrations.name' Web ex: use 1 to 32");
    expect_error("integrations:\n" + entry("a/b"), "use 1 to 32 of a-z");
    expect_error("integrations:\n  - client_id: c\n    redirect_url: https://b.example/r\n",
                 "tokend.yml:2: each of 'integrations' needs a name");
    expect_error("integrations:\n" + entry("webex", "    colour: red\n"),
                 "tokend.yml:5: unknown key 'colour' in 'integrations'");
    expect_error("integrations:\n  - name: webex\n    redirect_url: https://b.example/r\n",
                 "tokend.yml:2: 'integration' needs client_id");
    expect_error("integrations:\n" + entry("a", "    default: true\n") + entry("b", "    default: true\n"),
                 "tokend.yml:9: only one of 'integrations' may be the default");
    expect_error("integrations: []\n", "tokend.yml:1: 'integrations' must be a list");
    expect_error("integration:\n  client_id: c\n  redirect_url: https://b.example/r\nintegrations:\n" + entry("x"),
                 "tokend.yml:5: give 'integration' (one) or 'integrations' (a list), not both");
    expect_error("integrations:\n" + entry("webex", "    messages:\n      hello: hi\n"),
                 "tokend.yml:6: unknown key 'hello' in 'messages'");
}

TEST(ConfigIntegrations, EveryProblemIsReported) {
    ConfigReport report;
    parse_config("integrations:\n" + entry("webex", "    colour: red\n") + "log:\n  level: loud\n", "tokend.yml",
                 kNoSystemd, &report);
    std::string all;
    for (const std::string& problem : report.problems) all += problem + "\n";
    EXPECT_EQ(report.problems.size(), 2u) << all;
    EXPECT_NE(all.find("tokend.yml:5: unknown key 'colour' in 'integrations'"), std::string::npos) << all;
    EXPECT_NE(all.find("tokend.yml:7: log.level"), std::string::npos) << all;
}

TEST(ConfigIntegrations, ChangingTheListNeedsARestart) {
    const Config running = parse_config("integrations:\n" + entry("webex") + entry("github"), "t", kNoSystemd);
    Config next = parse_config("integrations:\n" + entry("webex") + entry("gitlab"), "t", kNoSystemd);
    EXPECT_EQ(plan_reload(running, next).restart_required, std::vector<std::string>{"integrations"});
    next = parse_config("integrations:\n" + entry("webex") + entry("github"), "t", kNoSystemd);
    EXPECT_TRUE(plan_reload(running, next).restart_required.empty());
}

TEST(ConfigIntegrations, AnotherIntegrationsSecretSourcesApplyOnReload) {
    Config running = parse_config("integrations:\n" + entry("webex") + entry("github"), "t", kNoSystemd);
    const Config next = parse_config("integrations:\n" + entry("webex") +
                                         entry("github", "    client_secret: {file: /etc/gh-secret}\n"
                                                         "    bot_token: {env: GH_BOT}\n"),
                                     "t", kNoSystemd);
    const ReloadPlan plan = plan_reload(running, next);
    EXPECT_EQ(plan.applied,
              (std::vector<std::string>{"integrations.github.client_secret", "integrations.github.bot_token"}));
    EXPECT_TRUE(plan.restart_required.empty());
    apply_reloadable(&running, next);
    EXPECT_EQ(running.other_integrations[0].client_secret_source.file, "/etc/gh-secret");
    EXPECT_EQ(running.other_integrations[0].bot_token_source.env, "GH_BOT");
}

TEST(ConfigIntegrations, WithTheListChangedNoOtherIntegrationsSecretSourceApplies) {
    Config running = parse_config("integrations:\n" + entry("webex") + entry("github"), "t", kNoSystemd);
    const Config next = parse_config("integrations:\n" + entry("webex", "    client_secret: {file: /etc/wx}\n") +
                                         entry("github", "    client_secret: {file: /etc/gh-secret}\n") + entry("gitlab"),
                                     "t", kNoSystemd);
    const ReloadPlan plan = plan_reload(running, next);
    // The default stays the same integration: its new source applies.
    EXPECT_EQ(plan.applied, std::vector<std::string>{"integration.client_secret"});
    EXPECT_EQ(plan.restart_required, std::vector<std::string>{"integrations"});
    apply_reloadable(&running, next);
    EXPECT_EQ(running.integration.client_secret_source.file, "/etc/wx");
    ASSERT_EQ(running.other_integrations.size(), 1u);
    EXPECT_EQ(running.other_integrations[0].client_secret_source.file, "");
}

TEST(ConfigIntegrations, AnotherDefaultKeepsTheRunningDefaultsSecretSources) {
    // The default moves from webex to github: github's secret file must not
    // become the running webex integration's.
    Config running = parse_config("integrations:\n" + entry("webex", "    client_secret: {file: /etc/webex}\n") +
                                      entry("github", "    client_secret: {file: /etc/github}\n"),
                                  "t", kNoSystemd);
    const Config next = parse_config("integrations:\n" + entry("webex", "    client_secret: {file: /etc/webex}\n") +
                                         entry("github", "    client_secret: {file: /etc/github}\n    default: true\n"),
                                     "t", kNoSystemd);
    ASSERT_EQ(next.integration.name, "github");
    const ReloadPlan plan = plan_reload(running, next);
    EXPECT_TRUE(plan.applied.empty());
    EXPECT_EQ(plan.restart_required, (std::vector<std::string>{"integration", "integrations"}));
    apply_reloadable(&running, next);
    EXPECT_EQ(running.integration.name, "webex");
    EXPECT_EQ(running.integration.client_secret_source.file, "/etc/webex");
    EXPECT_EQ(running.other_integrations[0].client_secret_source.file, "/etc/github");
}

}  // namespace
}  // namespace tokend
