#include "config/config.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

const ConfigEnvironment kNoSystemd{};

// Parsing must fail with a message that holds `expected`.
void expect_error(const std::string& text, const std::string& expected) {
    try {
        parse_config(text, "tokend.yml", kNoSystemd);
        FAIL() << "accepted:\n" << text;
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
}

TEST(Config, EmbeddedDefaultIsTheYamlStoreUnderState) {
    const Config config = default_config(kNoSystemd);
    EXPECT_EQ(config.store.plugin, "yaml");
    EXPECT_EQ(config.store.options, nlohmann::ordered_json({{"path", "state/users.yml"}}));
    EXPECT_EQ(config.log.level, "info");
    EXPECT_EQ(parse_config("", "tokend.yml", kNoSystemd).store.options, config.store.options);
}

TEST(Config, SystemdStateDirectoryMovesTheDefault) {
    const Config config = default_config(ConfigEnvironment{"/var/lib/tokend"});
    EXPECT_EQ(config.state_dir, "/var/lib/tokend");
    EXPECT_EQ(config.store.options["path"], "/var/lib/tokend/users.yml");
}

TEST(Config, ReadsEveryKey) {
    const Config config = parse_config(R"(
state_dir: /srv/tokend
log:
  level: debug
store:
  plugin: redis
  plugin_dir: /opt/tokend/plugins
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
    EXPECT_EQ(config.store.options.dump(),
              R"({"redis_url":"redis://localhost:6379/0","timeout_ms":500,"tls":false,"ratio":0.5,)"
              R"("name":"007","hosts":["a","b"],"nothing":null})");
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

TEST(Config, BadValuesAreRefused) {
    expect_error("log:\n  level: loud\n", "tokend.yml:2: log.level must be one of");
    expect_error("store: yaml\n", "tokend.yml:1: 'store' must be a mapping");
    expect_error("store:\n  plugin: [a]\n", "'store.plugin' must be a non-empty string");
    expect_error("store:\n  plugin: \"\"\n", "'store.plugin' must be a non-empty string");
    expect_error("store:\n  options: [1, 2]\n", "'store.options' must be a mapping");
    expect_error("- a\n- b\n", "'top level' must be a mapping");
}

TEST(Config, BrokenYamlNamesTheLine) {
    expect_error("log:\n  level: info\nstore: {plugin: yaml\n", "tokend.yml:4: not valid YAML");
}

TEST(Config, MissingFileIsAClearError) {
    try {
        load_config_file("/nonexistent/tokend.yml", kNoSystemd);
        FAIL();
    } catch (const ConfigError& error) {
        EXPECT_STREQ(error.what(), "/nonexistent/tokend.yml: cannot read the configuration file");
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
