// The program the crash test kills: opens the yaml store on argv[1] and runs
// kWriterThreads threads through the crash workload of run argv[2], printing
// "ack <thread> <index>" once each operation has returned (a put only returns once
// durable). The test SIGKILLs it at random moments. It stops by itself after a while.
#include "crash_workload.h"
#include "host/store.h"
#include "host/store_plugin.h"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using tokend::Ns;
using tokend::StoreStatus;
using tokend::yaml_crash::Op;

constexpr auto kMaxRunTime = std::chrono::seconds(60);
constexpr uint64_t kMaxOpsPerThread = 100000;

// One write(2) per line: lines from different threads never interleave, and a
// SIGKILL leaves whole lines in the pipe.
void say(const std::string& line) {
    const std::string text = line + "\n";
    if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        std::_Exit(4);
    }
}

StoreStatus run(tokend::Store& store, const Op& op) {
    std::string taken;
    switch (op.kind) {
        case Op::Kind::put: return store.put(op.ns, op.key, op.value);
        case Op::Kind::del: return store.del(op.ns, op.key);
        case Op::Kind::take: {
            StoreStatus status = store.take(op.ns, op.key, &taken);
            return status.not_found() ? StoreStatus::success() : status;
        }
    }
    return StoreStatus::success();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s USERS_PATH GENERATION\n", argv[0]);
        return 2;
    }
    const int generation = std::atoi(argv[2]);
    std::unique_ptr<tokend::Store> store;
    try {
        auto plugin = tokend::StorePlugin::load("yaml", TOKEND_BUILD_PLUGIN_DIR);
        const StoreStatus status =
            tokend::Store::open(plugin, nlohmann::json{{"path", argv[1]}}.dump(), nullptr, &store);
        if (!status.ok()) {
            say("error open " + status.describe());
            return 3;
        }
    } catch (const std::exception& error) {
        say(std::string("error load ") + error.what());
        return 3;
    }
    say("open");

    const auto deadline = std::chrono::steady_clock::now() + kMaxRunTime;
    std::vector<std::thread> threads;
    for (int thread = 0; thread < tokend::yaml_crash::kWriterThreads; ++thread) {
        threads.emplace_back([&, thread] {
            for (uint64_t index = 0; index < kMaxOpsPerThread; ++index) {
                if (std::chrono::steady_clock::now() > deadline) return;
                const Op op = tokend::yaml_crash::op_for(generation, thread, index);
                const StoreStatus status = run(*store, op);
                if (!status.ok()) {
                    say("error " + std::to_string(thread) + " " + std::to_string(index) + " " +
                        status.describe());
                    std::_Exit(5);
                }
                say("ack " + std::to_string(thread) + " " + std::to_string(index));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    return 0;
}
