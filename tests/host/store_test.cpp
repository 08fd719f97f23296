#include "host/store.h"
#include "open_store.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace tokend {
namespace {

TEST(Store, OpenFailureCarriesThePluginsReason) {
    auto plugin = StorePlugin::load("memory", TOKEND_BUILD_PLUGIN_DIR);
    std::unique_ptr<Store> store;
    StoreStatus status = Store::open(plugin, R"({"colour": "blue"})", nullptr, &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_EQ(status.describe(), "invalid: memory store: unknown option 'colour'");
    EXPECT_FALSE(store);
}

TEST(Store, ValuesAreBytesIncludingNul) {
    auto store = open_store("memory");
    const std::string key("k\0ey", 4), value("v\0a\xffl", 5);
    ASSERT_TRUE(store->put(Ns::user, key, value).ok());
    std::string read;
    ASSERT_TRUE(store->get(Ns::user, key, &read).ok());
    EXPECT_EQ(read, value);
    EXPECT_TRUE(store->get(Ns::flow, key, &read).not_found());
}

TEST(Store, ForEachKeyWalksEveryPage) {
    auto store = open_store("memory");
    std::set<std::string> written;
    for (int i = 0; i < 2500; ++i) {
        written.insert("user-" + std::to_string(i));
        ASSERT_TRUE(store->put(Ns::user, "user-" + std::to_string(i), "{}").ok());
    }
    std::set<std::string> seen;
    ASSERT_TRUE(store->for_each_key(Ns::user, [&](std::string_view key) {
        seen.emplace(key);
        return true;
    }, 7).ok());
    EXPECT_EQ(seen, written);

    int visited = 0;
    ASSERT_TRUE(store->for_each_key(Ns::user, [&](std::string_view) { return ++visited < 10; }).ok());
    EXPECT_EQ(visited, 10);
}

TEST(Store, CapabilityCallsAreRefusedWithoutTheCapability) {
    auto store = open_store(std::string(TOKEND_BROKEN_PLUGIN_DIR) + "/broken_newer_minor.so");
    uint64_t fence = 0;
    EXPECT_EQ(store->lock_acquire(Ns::user, "u", std::chrono::seconds(1), &fence).code, StoreCode::invalid);
    EXPECT_EQ(store->put_fenced(Ns::user, "u", "v", 1).code, StoreCode::invalid);
    EXPECT_EQ(store->subscribe([](Ns, StoreChange, std::string_view) {}).code, StoreCode::invalid);
}

TEST(Store, SerializesCallsToAPluginThatIsNotThreadSafe) {
    auto store = open_store(std::string(TOKEND_BROKEN_PLUGIN_DIR) + "/serial_plugin.so");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (!store->put(Ns::user, "k", "v").ok()) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST(Store, DoesNotTrustABuggyPlugin) {
    auto store = open_store(std::string(TOKEND_BROKEN_PLUGIN_DIR) + "/serial_plugin.so");
    std::string value;
    StoreStatus got = store->get(Ns::user, "k", &value);
    EXPECT_EQ(got.code, StoreCode::internal);
    EXPECT_EQ(got.message, "get returned OK without a value");
    StoreStatus walked = store->for_each_key(Ns::user, [](std::string_view) { return true; });
    EXPECT_EQ(walked.code, StoreCode::internal);
}


}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// A caller may hand the previous page's cursor straight back in.
TEST(Store, ListAcceptsTheCursorOfThePageItFills) {
    auto store = open_store("memory");
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->put(Ns::user, "k" + std::to_string(100 + i), "v").ok());
    StorePage page;
    ASSERT_TRUE(store->list(Ns::user, "", 10, &page).ok());
    size_t seen = page.keys.size();
    while (!page.next_cursor.empty()) {
        ASSERT_TRUE(store->list(Ns::user, page.next_cursor, 10, &page).ok());
        seen += page.keys.size();
    }
    EXPECT_EQ(seen, 25u);
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

TEST(Store, NeverPassesAnEmptyKey) {
    auto store = open_store("memory");
    std::string value;
    EXPECT_EQ(store->put(Ns::user, "", "v").code, StoreCode::invalid);
    EXPECT_EQ(store->get(Ns::user, "", &value).code, StoreCode::invalid);
    EXPECT_EQ(store->del(Ns::user, "").code, StoreCode::invalid);
    EXPECT_EQ(store->take(Ns::flow, "", &value).code, StoreCode::invalid);
}

}  // namespace
}  // namespace tokend
