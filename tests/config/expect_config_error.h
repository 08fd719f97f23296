// What the configuration tests share: a text that must be refused.
#pragma once

#include "config/config.h"

#include <gtest/gtest.h>

#include <string>

namespace tokend {

// Parsing (as tokend.yml, no systemd) must fail with a message that holds `expected`.
inline void expect_error(const std::string& text, const std::string& expected) {
    try {
        parse_config(text, "tokend.yml", ConfigEnvironment{});
        FAIL() << "accepted:\n" << text;
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
}

}  // namespace tokend
