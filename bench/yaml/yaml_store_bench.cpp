// How fast the yaml store takes a set (put of one user's ~700-byte context, durable
// when it returns) with 1,000 and 10,000 users stored, for one writer and for eight
// (group commit), and the floor it is measured against: rewriting a file of the same
// size with plain POSIX calls (write, fdatasync, close, rename, fsync directory).
// Quote results as ratios to the floor; absolute numbers depend on the disk.
//
// Data lives in a temp directory under $TMPDIR (default /tmp); the run takes under a
// minute. Extra arguments go to Google Benchmark (e.g. --benchmark_filter=Put).
#include "host/store.h"
#include "host/store_plugin.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using tokend::Ns;
using tokend::Store;

// A Webex-like user context of about 700 bytes of JSON.
std::string context_json(const std::string& user_id, uint64_t stamp) {
    const std::string tag = std::to_string(stamp);
    return nlohmann::ordered_json{
        {"user_id", user_id},
        {"tokens",
         {{"access_token",
           "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_"
           "1eb65fdf-9643-417f-9974-ad72cae0e10f-" +
               tag},
          {"expires_at", "2026-12-12T10:00:00.123456+00:00"},
          {"refresh_token",
           "ZmQ4Y2JmZjMtYWE2NC00ZTk1LWI5NjItOGFhNTljZDFlNzU3MjY3YzFiMmEtNjk5_PF84_"
           "1eb65fdf-9643-417f-9974-ad72cae0e10f-" +
               tag},
          {"refresh_token_expires_at", "2027-03-12T10:00:00.654321+00:00"},
          {"token_type", "Bearer"},
          {"scope",
           "spark:kms spark:people_read spark:rooms_read spark:messages_write "
           "spark:rooms_write spark:memberships_read spark:memberships_write "
           "spark:teams_read spark:team_memberships_read spark:webhooks_read"}}}}
        .dump();
}

std::string user_id(int i) {
    char id[96];
    std::snprintf(id, sizeof id, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIy%08d",
                  i);
    return id;
}

// One pre-filled store.
struct Dataset {
    std::string dir;
    std::unique_ptr<Store> store;
    std::vector<std::string> keys;
    size_t file_bytes = 0;
};

std::shared_ptr<tokend::StorePlugin>& yaml_plugin() {
    static std::shared_ptr<tokend::StorePlugin> plugin;
    return plugin;
}

std::map<int, Dataset>& datasets() {
    static std::map<int, Dataset> all;
    return all;
}

std::string make_temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/tokend-yaml-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        std::perror("mkdtemp");
        std::exit(1);
    }
    return pattern;
}

// Writes the users file directly (filling it through put would take 10,000 durable
// rewrites), opens the store on it and lets one put rewrite it in the store's format,
// whose size the floor then uses.
void prepare(int users, const std::shared_ptr<tokend::StorePlugin>& plugin) {
    Dataset& data = datasets()[users];
    data.dir = make_temp_dir();
    const std::string path = data.dir + "/users.yml";
    {
        std::ofstream out(path);
        for (int i = 0; i < users; ++i) {
            data.keys.push_back(user_id(i));
            const std::string& key = data.keys.back();
            const auto context = nlohmann::ordered_json::parse(context_json(key, 0));
            out << key << ":\n  user_id: \"" << key << "\"\n  tokens:\n";
            for (const auto& [field, value] : context["tokens"].items()) {
                out << "    " << field << ": " << value.dump()
                    << "\n";  // JSON strings are YAML too
            }
        }
    }
    const tokend::StoreStatus status =
        Store::open(plugin, nlohmann::json{{"path", path}}.dump(), nullptr, &data.store);
    if (!status.ok()) {
        std::fprintf(stderr, "open %s: %s\n", path.c_str(), status.describe().c_str());
        std::exit(1);
    }
    if (!data.store->put(Ns::user, data.keys[0], context_json(data.keys[0], 1)).ok()) std::exit(1);
    data.file_bytes = std::filesystem::file_size(path);
    // A copy for BM_YamlOpen, which cannot open the locked original.
    std::filesystem::create_directories(data.dir + "/copy");
    std::filesystem::copy_file(path, data.dir + "/copy/users.yml");
}

// Start-up cost: loading (parsing) the users file.
void BM_YamlOpen(benchmark::State& state) {
    Dataset& data = datasets()[static_cast<int>(state.range(0))];
    const std::string config = nlohmann::json{{"path", data.dir + "/copy/users.yml"}}.dump();
    for (auto _ : state) {
        std::unique_ptr<Store> store;
        if (!Store::open(yaml_plugin(), config, nullptr, &store).ok()) {
            state.SkipWithError("open failed");
            break;
        }
    }
}

void BM_YamlPut(benchmark::State& state) {
    Dataset& data = datasets()[static_cast<int>(state.range(0))];
    const size_t users = data.keys.size();
    // Each thread walks its own stride of users; values differ per set.
    size_t next = static_cast<size_t>(state.thread_index()) * (users / 8 + 1);
    uint64_t stamp = 1000000ull * static_cast<uint64_t>(state.thread_index() + 1);
    std::vector<std::string> values;
    for (int i = 0; i < 64; ++i)
        values.push_back(context_json(data.keys[(next + i) % users], stamp + i));
    size_t round = 0;
    for (auto _ : state) {
        const std::string& key = data.keys[(next + round % 64) % users];
        const tokend::StoreStatus status = data.store->put(Ns::user, key, values[round % 64]);
        if (!status.ok()) {
            state.SkipWithError(status.describe().c_str());
            break;
        }
        ++round;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["file_kB"] = benchmark::Counter(static_cast<double>(data.file_bytes) / 1000.0,
                                                   benchmark::Counter::kAvgThreads);
}

void BM_YamlPutFlow(benchmark::State& state) {
    Dataset& data = datasets()[static_cast<int>(state.range(0))];
    const std::string flow =
        R"({"user_id":")" + data.keys[0] + R"(","created":"2026-12-12T10:00:00+00:00"})";
    size_t round = 0;
    for (auto _ : state) {
        const std::string key =
            "0f8fad5b-d9cb-469f-a165-" + std::to_string(100000000000 + round++ % 32);
        if (!data.store->put(Ns::flow, key, flow).ok()) {
            state.SkipWithError("put failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

// The floor: one durable, atomic rewrite of a file as large as the users file.
void BM_PosixRewrite(benchmark::State& state) {
    Dataset& data = datasets()[static_cast<int>(state.range(0))];
    const std::string dir = data.dir + "/posix";
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/file.yml", temp = path + ".tmp";
    const std::string content(data.file_bytes, 'x');
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dir_fd >= 0;
    for (auto _ : state) {
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ok = fd >= 0 &&
             ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
        ok = ok && ::fdatasync(fd) == 0;
        ok = ::close(fd) == 0 && ok;
        ok = ok && ::rename(temp.c_str(), path.c_str()) == 0 && ::fsync(dir_fd) == 0;
        if (!ok) {
            state.SkipWithError("posix rewrite failed");
            break;
        }
    }
    if (dir_fd >= 0) ::close(dir_fd);
    state.SetItemsProcessed(state.iterations());
    state.counters["file_kB"] = static_cast<double>(data.file_bytes) / 1000.0;
}

BENCHMARK(BM_PosixRewrite)->ArgName("users")->Arg(1000)->Arg(10000)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_YamlPut)
    ->ArgName("users")
    ->Arg(1000)
    ->Arg(10000)
    ->Threads(1)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(BM_YamlPut)
    ->ArgName("users")
    ->Arg(1000)
    ->Arg(10000)
    ->Threads(8)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(BM_YamlPutFlow)->ArgName("users")->Arg(10000)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_YamlOpen)
    ->ArgName("users")
    ->Arg(10000)
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    std::shared_ptr<tokend::StorePlugin>& plugin = yaml_plugin();
    try {
        plugin = tokend::StorePlugin::load("yaml", TOKEND_BUILD_PLUGIN_DIR);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
    for (int users : {1000, 10000}) prepare(users, plugin);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (auto& [users, data] : datasets()) {
        data.store.reset();
        std::filesystem::remove_all(data.dir);
    }
    return 0;
}
