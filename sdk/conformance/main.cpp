// tokend-store-conformance: loads one store plugin, says what it is about to
// test, and runs the GoogleTest suite against it. Our options are taken out of
// argv first; the rest goes to GoogleTest.
#include "options.h"
#include "target.h"

#include <tokend/store.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace tokend::conformance {
namespace {

// The installed plugin directory next to this program (<prefix>/bin/.. then the
// plugin dir), so a relocated install finds its plugins; else the configured one.
std::string default_plugin_dir() {
    std::error_code error;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        const auto beside = self.parent_path().parent_path() / TOKEND_PLUGIN_INSTALL_DIR;
        if (std::filesystem::is_directory(beside, error)) return beside.string();
    }
    return TOKEND_DEFAULT_PLUGIN_DIR;
}

std::string version_text(uint32_t version) {
    return std::to_string(version >> 16) + "." + std::to_string(version & 0xffff);
}

int run(int argc, char** argv) {
    Options options;
    const std::string program = std::filesystem::path(argc > 0 ? argv[0] : "tokend-store-conformance")
                                    .filename()
                                    .string();
    const std::string error = parse_options(argc, argv, &options);
    if (!error.empty()) {
        std::cerr << program << ": " << error << "\n\n" << usage(program);
        return 2;
    }
    if (options.help) {
        std::cout << usage(program) << "\nGoogleTest flags:\n";
        std::vector<char*> gtest_help = {argv[0], const_cast<char*>("--help")};
        int gtest_argc = static_cast<int>(gtest_help.size());
        testing::InitGoogleTest(&gtest_argc, gtest_help.data());
        return 0;
    }

    std::vector<char*> gtest_argv;
    for (std::string& arg : options.rest) gtest_argv.push_back(arg.data());
    gtest_argv.push_back(nullptr);
    int gtest_argc = static_cast<int>(gtest_argv.size()) - 1;
    testing::InitGoogleTest(&gtest_argc, gtest_argv.data());
    if (gtest_argc > 1) {
        std::cerr << program << ": unknown argument '" << gtest_argv[1] << "'\n\n" << usage(program);
        return 2;
    }

    // Listing the tests needs no plugin: GoogleTest prints them and runs nothing.
    if (options.plugin.empty()) return RUN_ALL_TESTS();

    // The template must be a JSON object once its placeholders are filled in.
    const auto sample = nlohmann::json::parse(expand_config(options.config, "/tmp/x", "x"), nullptr, false);
    if (sample.is_discarded() || !sample.is_object()) {
        std::cerr << program << ": --config must be a JSON object, got: " << options.config << "\n";
        return 2;
    }

    Target target;
    const std::string plugin_dir = options.plugin_dir.empty() ? default_plugin_dir() : options.plugin_dir;
    try {
        target.plugin = StorePlugin::load(options.plugin, plugin_dir);
    } catch (const PluginLoadError& failure) {
        std::cerr << program << ": " << failure.what() << "\n";
        return 2;
    }
    target.config_template = options.config;
    target.persistent = options.persistent;

    const StorePlugin& plugin = *target.plugin;
    std::printf("tokend store conformance suite (host ABI %s)\n"
                "  plugin:       %s %s (built for ABI %s)\n"
                "  file:         %s\n"
                "  capabilities: %s\n"
                "  config:       %s\n"
                "  persistent:   %s\n",
                version_text(TOKEND_STORE_ABI_VERSION).c_str(), plugin.name().c_str(),
                plugin.version().c_str(), version_text(plugin.abi_version()).c_str(),
                plugin.path().c_str(), describe_capabilities(plugin.capabilities()).c_str(),
                options.config.c_str(), options.persistent ? "yes (--persistent)" : "no");
    if ((plugin.table().capabilities & ~plugin.capabilities()) != 0) {
        std::printf("  note:         capability bits this host does not know are ignored\n");
    }
    std::fflush(stdout);

    set_target(std::move(target));
    return RUN_ALL_TESTS();
}

}  // namespace
}  // namespace tokend::conformance

int main(int argc, char** argv) { return tokend::conformance::run(argc, argv); }
