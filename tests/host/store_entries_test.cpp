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
    EXPECT_EQ(plugin->put_if_equal(), nullptr);
    EXPECT_EQ(plugin->validate_options(), nullptr);
}

// validate_options (1.3) through the host: every problem with its option, OK
// without any; a plugin without the slot is answered, never called.
TEST(StoreEntries, OptionsAreCheckedThroughValidateOptions) {
    auto memory = StorePlugin::load("memory", TOKEND_BUILD_PLUGIN_DIR);
    ASSERT_NE(memory->validate_options(), nullptr);
    std::vector<OptionProblem> problems;
    EXPECT_TRUE(Store::validate_options(*memory, R"({"name":"x"})", {}, &problems).ok());
    EXPECT_TRUE(problems.empty());
    const StoreStatus refused = Store::validate_options(*memory, R"({"nmae":"x","size":3,"name":7})", {}, &problems);
    EXPECT_EQ(refused.code, StoreCode::invalid);
    std::map<std::string, std::string> by_option;
    for (const OptionProblem& problem : problems) by_option[problem.option] = problem.message;
    ASSERT_EQ(by_option.size(), 3u);
    EXPECT_NE(by_option["nmae"].find("unknown option 'nmae'"), std::string::npos) << by_option["nmae"];
    EXPECT_NE(by_option["size"].find("unknown option 'size'"), std::string::npos) << by_option["size"];
    EXPECT_NE(by_option["name"].find("must be a string"), std::string::npos) << by_option["name"];
    EXPECT_EQ(Store::validate_options(*memory, "[", {}, &problems).code, StoreCode::invalid);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].message, "options are not valid JSON");

    auto faulty = StorePlugin::load(TOKEND_FAULTY_STORE, "");
    EXPECT_EQ(Store::validate_options(*faulty, "{}", {}, &problems).code, StoreCode::internal);
    EXPECT_TRUE(problems.empty());
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

// Store::put_if_equal on both paths: the plugin's one-step slot (memory, 1.2)
// and get + compare + put for a plugin from before 1.2 (the faulty store, 1.0).
void expect_put_if_equal_contract(Store& store) {
    std::string current;
    bool changed = true;
    EXPECT_EQ(store.put_if_equal(Ns::user, "u", "x", "y", std::nullopt, &current, &changed).code, StoreCode::not_found);
    EXPECT_FALSE(changed);
    std::string value;
    EXPECT_TRUE(store.get(Ns::user, "u", &value).not_found()) << "an absent key was created";

    ASSERT_TRUE(store.put(Ns::user, "u", std::string("read\0", 5)).ok());
    ASSERT_TRUE(store.put(Ns::user, "u", "theirs").ok());  // another writer, after our read
    const StoreStatus refused =
        store.put_if_equal(Ns::user, "u", std::string("read\0", 5), "ours", std::nullopt, &current, &changed);
    EXPECT_EQ(refused.code, StoreCode::conflict);
    EXPECT_TRUE(changed);
    EXPECT_EQ(current, "theirs");
    ASSERT_TRUE(store.get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, "theirs");

    EXPECT_TRUE(store.put_if_equal(Ns::user, "u", "theirs", "ours", std::nullopt, &current, &changed).ok());
    EXPECT_FALSE(changed);
    EXPECT_TRUE(current.empty());
    ASSERT_TRUE(store.get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, "ours");
    EXPECT_EQ(store.put_if_equal(Ns::user, "", "a", "b", std::nullopt, &current, &changed).code, StoreCode::invalid);
}

TEST(StorePutIfEqual, A1_2PluginComparesAndWritesInOneCall) {
    auto store = open_store("memory");
    ASSERT_TRUE(store->compares_atomically());
    std::map<std::string, int> calls;
    store->set_call_observer(
        [&calls](std::string_view operation, auto, const StoreStatus&) { ++calls[std::string(operation)]; });
    expect_put_if_equal_contract(*store);
    EXPECT_EQ(calls["put_if_equal"], 3);  // the empty key never reaches the plugin
    EXPECT_EQ(calls["get"], 3);          // the test's own reads only

    // With a fence: checked by the plugin, the lease first.
    uint64_t fence = 0;
    ASSERT_TRUE(store->lock_acquire(Ns::user, "u", std::chrono::seconds(30), &fence).ok());
    std::string current;
    bool changed = true;
    EXPECT_EQ(store->put_if_equal(Ns::user, "u", "other", "z", fence + 1, &current, &changed).code,
              StoreCode::conflict);
    EXPECT_FALSE(changed) << "a lost fence is no change";
    EXPECT_TRUE(store->put_if_equal(Ns::user, "u", "ours", "fenced", fence, &current, &changed).ok());
}

TEST(StorePutIfEqual, APluginWithoutTheSlotGetsGetCompareAndPut) {
    FaultyStore faulty;
    Store& store = *faulty.store;
    EXPECT_FALSE(store.compares_atomically()) << "the 1.0 table's function past struct_size was read";
    expect_put_if_equal_contract(store);
    std::string current;
    bool changed = false;
    EXPECT_EQ(store.put_if_equal(Ns::user, "u", "ours", "x", 7, &current, &changed).code, StoreCode::invalid)
        << "no fence without the lock capability";
    faulty.switch_off();
    const StoreStatus down = store.put_if_equal(Ns::user, "u", "ours", "x", std::nullopt, &current, &changed);
    EXPECT_EQ(down.code, StoreCode::unavailable) << down.describe();
    EXPECT_FALSE(changed);
}

// absent_now (store ABI 1.4): asked on the event loop, so it goes around the
// call observer and the serialization; only a plugin's NOT_FOUND means absent.
TEST(StoreAbsentNow, A1_4PluginSaysAtOnceWhatATakeWouldFind) {
    auto store = open_store("memory");
    ASSERT_TRUE(store->answers_absence_inline());
    int calls = 0;
    store->set_call_observer([&calls](std::string_view, auto, const StoreStatus&) { ++calls; });
    EXPECT_TRUE(store->absent_now(Ns::flow, "flow-1"));
    ASSERT_TRUE(store->put(Ns::flow, "flow-1", "pending").ok());
    EXPECT_FALSE(store->absent_now(Ns::flow, "flow-1"));
    EXPECT_TRUE(store->absent_now(Ns::user, "flow-1")) << "another namespace";
    std::string value;
    ASSERT_TRUE(store->take(Ns::flow, "flow-1", &value).ok());
    EXPECT_TRUE(store->absent_now(Ns::flow, "flow-1"));
    EXPECT_FALSE(store->absent_now(Ns::flow, "")) << "an empty key never reaches the plugin";
    EXPECT_EQ(calls, 2) << "the put and the take only";
}

TEST(StoreAbsentNow, APluginWithoutTheSlotIsNeverSaidAbsent) {
    FaultyStore faulty;
    EXPECT_FALSE(faulty.store->answers_absence_inline()) << "the 1.0 table's function past struct_size was read";
    EXPECT_FALSE(faulty.store->absent_now(Ns::flow, "never-written"));
}

}  // namespace
}  // namespace tokend
