// Store::for_each_entry on both paths: list_entries for a 1.1 plugin (memory), and
// list + get for a plugin whose table ends before list_entries (the faulty test
// store, built as a 1.0 plugin).
#include "host/store.h"
#include "open_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace tokend {
namespace {

// The faulty store switches itself off when its flag file exists.
struct FaultyStore {
    std::string flag = std::filesystem::temp_directory_path() / ("tokend-faulty-" + std::to_string(::getpid()));
    std::unique_ptr<Store> store = open_store(TOKEND_FAULTY_STORE, R"({"fail_flag":")" + flag + "\"}");
    ~FaultyStore() { std::remove(flag.c_str()); }
    void switch_off() const { std::ofstream(flag) << "off"; }
};

// Values with NUL bytes, empty values and plain ones.
std::map<std::string, std::string> fill(Store& store, int count) {
    std::map<std::string, std::string> written;
    for (int i = 0; i < count; ++i) {
        const std::string key = "user-" + std::to_string(i);
        std::string value = i % 3 == 0 ? std::string("a\0b", 3) + key : i % 3 == 1 ? "" : "{\"n\":" + key + "}";
        EXPECT_TRUE(store.put(Ns::user, key, value).ok());
        written[key] = value;
    }
    EXPECT_TRUE(store.put(Ns::flow, "flow-1", "not a user").ok());
    return written;
}

TEST(StoreEntries, A1_1PluginIsWalkedWithListEntries) {
    auto store = open_store("memory");
    ASSERT_TRUE(store->can_list_entries());
    const auto written = fill(*store, 500);
    std::map<std::string, int> calls;
    store->set_call_observer(
        [&calls](std::string_view operation, auto, const StoreStatus&) { ++calls[std::string(operation)]; });
    std::map<std::string, std::string> seen;
    ASSERT_TRUE(store->for_each_entry(Ns::user, [&](std::string_view key, std::string_view value) {
        EXPECT_TRUE(seen.emplace(key, value).second) << "twice: " << key;
        return true;
    }, 7).ok());
    EXPECT_EQ(seen, written);
    EXPECT_EQ(calls["list_entries"], (500 + 6) / 7);
    EXPECT_EQ(calls["get"], 0);
    EXPECT_EQ(calls["list"], 0);
}

TEST(StoreEntries, TheVisitorMayStopTheWalk) {
    auto store = open_store("memory");
    fill(*store, 50);
    int visited = 0;
    ASSERT_TRUE(store->for_each_entry(Ns::user, [&](std::string_view, std::string_view) { return ++visited < 10; }, 4).ok());
    EXPECT_EQ(visited, 10);
}

TEST(StoreEntries, A1_0PluginLoadsWithoutListEntries) {
    auto plugin = StorePlugin::load(TOKEND_FAULTY_STORE, "");
    EXPECT_EQ(plugin->table_size(), offsetof(tokend_store_plugin, list_entries));
    EXPECT_EQ(plugin->abi_version(), uint32_t{TOKEND_STORE_ABI_MAJOR} << 16);
    // Its table has a function in that slot's place, past struct_size: never to be read.
    EXPECT_EQ(plugin->list_entries(), nullptr);
}

TEST(StoreEntries, A1_0PluginIsWalkedWithListAndGet) {
    FaultyStore faulty;
    Store& store = *faulty.store;
    EXPECT_FALSE(store.can_list_entries());
    const auto written = fill(store, 300);
    std::map<std::string, int> calls;
    store.set_call_observer(
        [&calls](std::string_view operation, auto, const StoreStatus&) { ++calls[std::string(operation)]; });
    std::map<std::string, std::string> seen;
    const StoreStatus walked = store.for_each_entry(Ns::user, [&](std::string_view key, std::string_view value) {
        seen.emplace(key, value);
        return true;
    }, 64);
    ASSERT_TRUE(walked.ok()) << walked.describe();
    EXPECT_EQ(seen, written);
    EXPECT_EQ(calls["list"], (300 + 63) / 64);
    EXPECT_EQ(calls["get"], 300);
    EXPECT_EQ(calls["list_entries"], 0);
}

TEST(StoreEntries, FallbackSkipsAKeyDeletedAfterItWasListed) {
    FaultyStore faulty;
    Store& store = *faulty.store;
    for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(store.put(Ns::user, key, key).ok());
    std::map<std::string, std::string> seen;
    // One page lists all three; "b" goes before its get.
    const StoreStatus walked = store.for_each_entry(Ns::user, [&](std::string_view key, std::string_view value) {
        if (key == "a") {
            EXPECT_TRUE(store.del(Ns::user, "b").ok());
        }
        seen.emplace(key, value);
        return true;
    }, 10);
    ASSERT_TRUE(walked.ok()) << walked.describe();
    EXPECT_EQ(seen, (std::map<std::string, std::string>{{"a", "a"}, {"c", "c"}}));
}

TEST(StoreEntries, FallbackGetFailureNamesTheKey) {
    FaultyStore faulty;
    Store& store = *faulty.store;
    for (const char* key : {"a", "b"}) ASSERT_TRUE(store.put(Ns::user, key, key).ok());
    const StoreStatus walked = store.for_each_entry(Ns::user, [&](std::string_view key, std::string_view) {
        if (key == "a") faulty.switch_off();  // the get of "b" fails
        return true;
    }, 10);
    EXPECT_EQ(walked.code, StoreCode::unavailable);
    EXPECT_EQ(walked.message, "get user b: faulty store: backend switched off");
}

TEST(StoreEntries, FallbackListFailureIsReturned) {
    FaultyStore faulty;
    faulty.switch_off();
    const StoreStatus walked = faulty.store->for_each_entry(Ns::user, [](std::string_view, std::string_view) { return true; });
    EXPECT_EQ(walked.code, StoreCode::unavailable);
}

}  // namespace
}  // namespace tokend
