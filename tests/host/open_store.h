// Opening a plugin of the build tree (or a path) through the host's Store, for
// the host tests.
#pragma once

#include "host/store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tokend {

inline std::unique_ptr<Store> open_store(const std::string& name_or_path, const std::string& config = "{}") {
    auto plugin = StorePlugin::load(name_or_path, TOKEND_BUILD_PLUGIN_DIR);
    std::unique_ptr<Store> store;
    StoreStatus status = Store::open(plugin, config, nullptr, &store);
    EXPECT_TRUE(status.ok()) << status.describe();
    return store;
}

}  // namespace tokend
