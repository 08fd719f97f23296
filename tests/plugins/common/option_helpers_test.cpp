// The option helpers the store plugins share: messages name the option, never its value.
#include "option_helpers.h"

#include <gtest/gtest.h>

namespace tokend::plugin_support {
namespace {

TEST(OptionHelpers, TheOptionsMustBeAJsonObject) {
    nlohmann::json config;
    EXPECT_EQ(parse_options_object("{not json", &config).message, "options are not valid JSON");
    EXPECT_EQ(parse_options_object("[1, 2]", &config).message, "options must be a JSON object");
    EXPECT_EQ(parse_options_object("", &config).code, TOKEND_INVALID);
    ASSERT_TRUE(parse_options_object(R"({"path": "/x"})", &config).ok());
    EXPECT_EQ(config["path"], "/x");
}

TEST(OptionHelpers, StringOptions) {
    std::string out = "before";
    const Status wrong_type = string_option(nlohmann::json(5), "path", &out);
    EXPECT_EQ(wrong_type.code, TOKEND_INVALID);
    EXPECT_EQ(wrong_type.message, "option \"path\" must be a non-empty string");
    EXPECT_EQ(string_option(nlohmann::json(""), "path", &out).code, TOKEND_INVALID);
    EXPECT_EQ(out, "before");
    EXPECT_TRUE(string_option(nlohmann::json(""), "key_prefix", &out, true).ok());
    EXPECT_EQ(out, "");
    EXPECT_EQ(string_option(nlohmann::json(true), "key_prefix", &out, true).message,
              "option \"key_prefix\" must be a string");
    EXPECT_TRUE(string_option(nlohmann::json("/srv/users.yml"), "path", &out).ok());
    EXPECT_EQ(out, "/srv/users.yml");
}

TEST(OptionHelpers, NumberOptionsKeepToTheirRange) {
    uint64_t out = 7;
    // As the options arrive: parsed from the operator's JSON.
    EXPECT_TRUE(number_option(nlohmann::json::parse("10"), "port", 1, 65535, &out).ok());
    EXPECT_EQ(out, 10u);
    for (const char* bad : {"0", "65536", "-1", "1.5", "\"80\"", "null"}) {
        const Status status = number_option(nlohmann::json::parse(bad), "port", 1, 65535, &out);
        EXPECT_EQ(status.code, TOKEND_INVALID) << bad;
        EXPECT_EQ(status.message, "option \"port\" must be a whole number from 1 to 65535");
    }
    EXPECT_EQ(out, 10u);
}

TEST(OptionHelpers, AnUnknownOptionIsNamedPrintablyWithTheKnownOnes) {
    const Status status = unknown_option("colour", "path, flows_path");
    EXPECT_EQ(status.code, TOKEND_INVALID);
    EXPECT_EQ(status.message, "unknown option \"colour\" (known: path, flows_path)");
    EXPECT_EQ(unknown_option(std::string("a\nb\x01", 4), "x").message, "unknown option \"a?b?\" (known: x)");
}

TEST(OptionHelpers, PrintableCutsAt64Bytes) {
    EXPECT_EQ(printable(std::string(100, 'x')), std::string(64, 'x'));
    EXPECT_EQ(printable("caf\xc3\xa9"), "caf??");
}

}  // namespace
}  // namespace tokend::plugin_support
