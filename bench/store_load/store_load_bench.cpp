// What the daemon's start costs on the redis store: reading every stored user
// context through the host's Store, the two ways the host can do it.
//   ByGet:         list, then one get per user (a round trip each): how a
//                  store ABI 1.0 plugin is loaded, and how every plugin was.
//   ByListEntries: list_entries (ABI 1.1): per page, one SSCAN and one MGET.
// Both read the same 10,000 Webex-sized contexts (~480 bytes of JSON) in the
// original module's layout, from one redis-server (Unix socket, no
// persistence) the benchmark starts for itself. Only the store reads are
// timed, not parsing the contexts. Quote medians and the ratio; the absolute
// figures depend on the machine and its load.
//
//   build/bench/store_load/store_load_bench --benchmark_repetitions=5
#include "host/store.h"
#include "host/store_plugin.h"
#include "redis_test_server.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using tokend::Ns;
using tokend::Store;
using tokend::StoreStatus;

constexpr int kUsers = 10000;

// A Webex-like user context of about 480 bytes of JSON.
std::string context_json(const std::string& user_id, int i) {
    const std::string tag = std::to_string(i);
    return nlohmann::ordered_json{
        {"user_id", user_id},
        {"tokens",
         {{"access_token", "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1_PF84_1eb65fdf-" + tag},
          {"expires_at", "2026-12-12T10:00:00.123456+00:00"},
          {"refresh_token", "ZmQ4Y2JmZjMtYWE2NC00ZTk1LWI5NjItOGFhNTljZDFlNzU3_PF84_1eb65fdf-" + tag},
          {"refresh_token_expires_at", "2027-03-12T10:00:00.654321+00:00"},
          {"token_type", "Bearer"},
          {"scope", "spark:kms spark:people_read spark:rooms_read spark:messages_write"}}}}
        .dump();
}

std::string user_id(int i) {
    char id[80];
    std::snprintf(id, sizeof id, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1%08d", i);
    return id;
}

// One redis-server holding kUsers contexts, and the store open on it; made once.
struct Loaded {
    tokend::redis_test::RedisTestServer server;
    std::unique_ptr<Store> store;
    size_t bytes = 0;  // of all contexts

    Loaded() {
        auto plugin = tokend::StorePlugin::load("redis", TOKEND_BUILD_PLUGIN_DIR);
        const std::string options = nlohmann::json{{"redis_url", server.unix_url()}}.dump();
        const StoreStatus opened = Store::open(plugin, options, nullptr, &store);
        if (!opened.ok()) throw std::runtime_error("open: " + opened.describe());
        if (!store->can_list_entries()) throw std::runtime_error("the redis plugin lacks list_entries");
        for (int i = 0; i < kUsers; ++i) {
            const std::string id = user_id(i), context = context_json(id, i);
            bytes += context.size();
            const StoreStatus put = store->put(Ns::user, id, context);
            if (!put.ok()) throw std::runtime_error("put: " + put.describe());
        }
    }
};

Loaded& loaded() {
    static Loaded instance;
    return instance;
}

void report(benchmark::State& state, size_t users, size_t bytes) {
    if (users != kUsers) state.SkipWithError("not every user was read");
    state.counters["users"] = static_cast<double>(users);
    state.counters["bytes_per_user"] = static_cast<double>(bytes) / static_cast<double>(users);
    state.counters["per_user"] = benchmark::Counter(static_cast<double>(users),
                                                       benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}

void ByGet(benchmark::State& state) {
    Store& store = *loaded().store;
    size_t users = 0, bytes = 0;
    for (auto _ : state) {
        users = bytes = 0;
        std::vector<std::string> keys;
        StoreStatus status = store.for_each_key(Ns::user, [&](std::string_view key) {
            keys.emplace_back(key);
            return true;
        });
        std::string value;
        for (size_t i = 0; status.ok() && i < keys.size(); ++i) {
            status = store.get(Ns::user, keys[i], &value);
            ++users;
            bytes += value.size();
        }
        if (!status.ok()) state.SkipWithError(status.describe().c_str());
        benchmark::DoNotOptimize(bytes);
    }
    report(state, users, bytes);
}

void ByListEntries(benchmark::State& state) {
    Store& store = *loaded().store;
    size_t users = 0, bytes = 0;
    for (auto _ : state) {
        users = bytes = 0;
        const StoreStatus status = store.for_each_entry(Ns::user, [&](std::string_view, std::string_view value) {
            ++users;
            bytes += value.size();
            return true;
        });
        if (!status.ok()) state.SkipWithError(status.describe().c_str());
        benchmark::DoNotOptimize(bytes);
    }
    report(state, users, bytes);
}

// Interleaved registration would not help: Google Benchmark runs each in turn.
BENCHMARK(ByGet)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(ByListEntries)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
