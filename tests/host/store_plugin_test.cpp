#include "host/store_plugin.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace tokend {
namespace {

std::string broken(const std::string& defect) {
    return std::string(TOKEND_BROKEN_PLUGIN_DIR) + "/broken_" + defect + ".so";
}

// Loading must fail with a PluginLoadError whose message holds `expected`.
void expect_refused(const std::string& name_or_path, const std::string& expected) {
    try {
        StorePlugin::load(name_or_path, TOKEND_BUILD_PLUGIN_DIR);
        FAIL() << name_or_path << " was loaded";
    } catch (const PluginLoadError& error) {
        EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
}

TEST(StorePlugin, LoadsByNameFromThePluginDirectory) {
    auto plugin = StorePlugin::load("memory", TOKEND_BUILD_PLUGIN_DIR);
    EXPECT_EQ(plugin->name(), "memory");
    EXPECT_EQ(plugin->path(), std::string(TOKEND_BUILD_PLUGIN_DIR) + "/tokend_store_memory.so");
    EXPECT_TRUE(plugin->has(TOKEND_STORE_CAP_LOCK));
    EXPECT_TRUE(plugin->has(TOKEND_STORE_CAP_NOTIFY));
    EXPECT_FALSE(plugin->has(TOKEND_STORE_CAP_SHARED));
    EXPECT_EQ(plugin->abi_version(), TOKEND_STORE_ABI_VERSION);
}

TEST(StorePlugin, LoadsByPath) {
    auto plugin = StorePlugin::load(std::string(TOKEND_BUILD_PLUGIN_DIR) + "/tokend_store_memory.so", "/nonexistent");
    EXPECT_EQ(plugin->name(), "memory");
}

TEST(StorePlugin, RefusesAMissingFile) {
    expect_refused("nosuchstore", "tokend_store_nosuchstore.so): cannot open: No such file");
    expect_refused("/nonexistent/store.so", "cannot open");
}

TEST(StorePlugin, RefusesAFileThatIsNotALibrary) {
    const std::string path = testing::TempDir() + "/not_a_library.so";
    std::ofstream(path) << "this is text, not ELF";
    expect_refused(path, "cannot load");
}

TEST(StorePlugin, RefusesMissingSymbols) {
    expect_refused(broken("no_version"), "missing symbol tokend_store_abi_version");
    expect_refused(broken("no_entry"), "missing symbol tokend_store_plugin_entry");
    expect_refused(broken("null_entry"), "returned NULL");
}

TEST(StorePlugin, RefusesAnotherMajorVersion) {
    expect_refused(broken("wrong_major"), "built for store ABI 2.0");
}

TEST(StorePlugin, RefusesATooSmallTable) { expect_refused(broken("small_table"), "smaller than"); }

TEST(StorePlugin, RefusesACapabilityWithoutItsFunctions) {
    expect_refused(broken("lock_without_functions"), "declares TOKEND_STORE_CAP_LOCK but 'lock_acquire' is NULL");
}

TEST(StorePlugin, AcceptsANewerMinorAndIgnoresUnknownCapabilities) {
    auto plugin = StorePlugin::load(broken("newer_minor"), "");
    EXPECT_EQ(plugin->abi_version(), TOKEND_STORE_ABI_VERSION + 7);
    EXPECT_EQ(plugin->capabilities(), 0u);
}

}  // namespace
}  // namespace tokend
