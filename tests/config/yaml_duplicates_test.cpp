// Duplicate keys found from the parser's events, with both lines; and the
// configuration parser reporting every problem of a file at once.
#include "config/config.h"
#include "config/yaml_duplicates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace tokend {
namespace {

TEST(YamlDuplicates, EachRepeatedKeyOfAMappingWithBothLines) {
    const auto found = find_duplicate_keys(
        "store:\n"              // 1
        "  plugin: memory\n"    // 2
        "  options: {a: 1, b: 2, a: 3}\n"  // 3
        "log:\n"                // 4
        "  level: info\n"       // 5
        "  level: debug\n"      // 6
        "store:\n"              // 7
        "  plugin: yaml\n");    // 8
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0].key, "a");
    EXPECT_EQ(found[0].line, 3);
    EXPECT_EQ(found[0].first_line, 3);
    EXPECT_EQ(found[1].key, "level");
    EXPECT_EQ(found[1].line, 6);
    EXPECT_EQ(found[1].first_line, 5);
    EXPECT_EQ(found[2].key, "store");
    EXPECT_EQ(found[2].line, 7);
    EXPECT_EQ(found[2].first_line, 1);
}

TEST(YamlDuplicates, SameKeysInDifferentMappingsAndValuesAreNotDuplicates) {
    EXPECT_TRUE(find_duplicate_keys("a:\n  x: 1\nb:\n  x: 1\nc: [x, x]\nd: {e: x, f: x}\n").empty());
    EXPECT_TRUE(find_duplicate_keys("- {a: 1}\n- {a: 1}\n").empty());
    EXPECT_TRUE(find_duplicate_keys("base: &b {x: 1}\nthis:\n  <<: *b\n  y: 2\n").empty());
    EXPECT_TRUE(find_duplicate_keys("a: [\n").empty());  // broken YAML: the parser says so
}

// yaml-cpp's parser yields empty documents without end for " ,": only the
// first document is read (as YAML::Load does), so this returns at once.
TEST(YamlDuplicates, TextYamlCppReadsAsEndlessDocumentsEnds) {
    EXPECT_TRUE(find_duplicate_keys(" ,").empty());
    EXPECT_TRUE(find_duplicate_keys(",\n,").empty());
    EXPECT_NO_THROW(parse_config(" ,", "tokend.yml", ConfigEnvironment{}));  // an empty document, as before
}

TEST(ConfigReport, EveryProblemOfAFileAtOnceWithItsLine) {
    ConfigReport report;
    parse_config("flows:\n"                   // 1
                 "  colour: blue\n"           // 2
                 "  ttl: -1\n"                // 3
                 "  maintenance_interval: x\n"  // 4
                 "http:\n"                    // 5
                 "  listen: nowhere\n"        // 6
                 "colour: red\n"              // 7
                 "log:\n"                     // 8
                 "  level: debug\n"           // 9
                 "  level: info\n",           // 10
                 "t.yml", {}, &report);
    const std::vector<std::string> expected = {
        "t.yml:10: duplicate key 'level' (first at line 9); only one of them would be used: keep one",
        "t.yml:7: unknown key 'colour' in 'top level'",
        "t.yml:2: unknown key 'colour' in 'flows'",
        "t.yml:3: 'flows.ttl' must be between 1 and 86400",
        "t.yml:4: 'flows.maintenance_interval' must be a whole number",
        "t.yml:6: http.listen entries look like 127.0.0.1:6001 or [::1]:6001",
    };
    for (const std::string& problem : expected) {
        EXPECT_NE(std::find(report.problems.begin(), report.problems.end(), problem), report.problems.end())
            << problem << " missing";
    }
    EXPECT_EQ(report.sections_with_problems, (std::set<std::string>{"colour", "flows", "http"}));
    EXPECT_THROW(parse_config("flows:\n  colour: blue\n", "t.yml", {}), ConfigError);
}

TEST(ConfigReport, EveryBadValueOfOneSectionIsListed) {
    // Each bad value is set aside and the document read again: all eleven.
    std::string text = "refresh:\n";
    for (const char* key : {"margin", "fraction", "jitter", "read_margin", "refresh_token_margin", "keepalive",
                            "retry_base_ms", "retry_cap", "max_concurrent", "rate", "burst"}) {
        text += std::string("  ") + key + ": bad\n";
    }
    ConfigReport report;
    parse_config(text, "t.yml", {}, &report);
    ASSERT_EQ(report.problems.size(), 11u);
    EXPECT_EQ(report.problems.front(), "t.yml:2: 'refresh.margin' must be a whole number");
    EXPECT_EQ(report.problems.back(), "t.yml:12: 'refresh.burst' must be a number");
}

TEST(ConfigReport, KeyLinesPointIntoTheFile) {
    ConfigReport report;
    const Config config =
        parse_config("store:\n  plugin: yaml\n  options:\n    path: /x/users.yml\n", "t.yml", {}, &report);
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(config.key_lines.at("store.plugin"), 2);
    EXPECT_EQ(config.key_lines.at("store.options"), 3);
    EXPECT_EQ(config.key_lines.at("store.options.path"), 4);
}

}  // namespace
}  // namespace tokend
