// The command line of tokend-store-conformance. Our own options are taken out;
// everything else is left for GoogleTest (--gtest_filter and friends).
#pragma once

#include <string>
#include <vector>

namespace tokend::conformance {

struct Options {
    std::string plugin;      // --plugin: a path (contains '/') or a name
    std::string plugin_dir;  // --plugin-dir: where a name is looked up
    std::string config = "{}";
    bool persistent = false;
    bool help = false;
    std::vector<std::string> rest;  // arguments for GoogleTest, argv[0] first
};

// Splits argv. Returns an empty string on success, else what is wrong with the
// command line (for a usage error).
std::string parse_options(int argc, char** argv, Options* out);

// The usage text (without GoogleTest's own flags).
std::string usage(const std::string& program);

}  // namespace tokend::conformance
