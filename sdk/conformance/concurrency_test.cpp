// Calls from many threads at once: take is atomic (the OAuth state of a flow is
// redeemed once), and concurrent puts and gets never tear a value. For a plugin
// without THREAD_SAFE the host serializes calls; the tests must pass either way.
#include "fixture.h"

#include <atomic>
#include <barrier>
#include <cstdio>
#include <thread>

namespace tokend::conformance {
namespace {

using Concurrency = ConformanceTest;

constexpr int kKeys = 50;
constexpr int kTakers = 16;

// kTakers threads, spread over the given instances, take each of kKeys keys at
// the same moment; exactly one may win each, with the value that was stored.
void race_takes(const std::vector<Store*>& instances, const std::string& unique) {
    auto key_of = [&](int k) { return "flow-" + unique + "-" + std::to_string(k); };
    auto value_of = [&](int k) { return secret_value("flow " + std::to_string(k)); };
    for (int k = 0; k < kKeys; ++k) ASSERT_STORE(ok, instances[0]->put(Ns::flow, key_of(k), value_of(k)));

    std::atomic<int> winners[kKeys] = {};
    std::atomic<int> wrong_values{0}, errors{0};
    std::mutex error_mutex;
    std::string first_error;
    std::barrier start_line(kTakers);  // every round starts with all takers at once
    {
        std::vector<std::jthread> takers;
        for (int t = 0; t < kTakers; ++t) {
            Store* store = instances[t % instances.size()];
            takers.emplace_back([&, store] {
                for (int k = 0; k < kKeys; ++k) {
                    start_line.arrive_and_wait();
                    std::string value;
                    StoreStatus status = store->take(Ns::flow, key_of(k), &value);
                    if (status.ok()) {
                        ++winners[k];
                        if (value != value_of(k)) ++wrong_values;
                    } else if (!status.not_found()) {
                        ++errors;
                        std::lock_guard<std::mutex> hold(error_mutex);
                        first_error = status.describe();
                    }
                }
            });
        }
    }
    EXPECT_EQ(errors.load(), 0) << "take failed: " << first_error;
    EXPECT_EQ(wrong_values.load(), 0) << "a winning take returned another value";
    for (int k = 0; k < kKeys; ++k) {
        EXPECT_EQ(winners[k].load(), 1) << "key " << k << " was taken " << winners[k].load() << " times";
    }
    std::string value;
    for (int k = 0; k < kKeys; ++k) EXPECT_STORE(not_found, instances[0]->get(Ns::flow, key_of(k), &value));
}

TEST_F(Concurrency, ConcurrentTakesHaveExactlyOneWinner) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    race_takes({store.get()}, unique());
}

TEST_F(Concurrency, ConcurrentTakesAcrossTwoInstancesHaveExactlyOneWinner) {
    std::unique_ptr<Store> first, second;
    ASSERT_TRUE(open(&first));
    std::string skip_reason;
    ASSERT_NO_FATAL_FAILURE(open_second(*first, &second, &skip_reason));
    if (!second) GTEST_SKIP() << skip_reason;
    race_takes({first.get(), second.get()}, unique());
}

// Each thread writes its own keys and one shared key; every read must give back a
// whole value that some thread wrote (never a torn or mixed one).
TEST_F(Concurrency, ParallelPutsAndGetsKeepValuesWhole) {
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    constexpr int kThreads = 8, kRounds = 100;
    // The value says who wrote it, so a reader can rebuild what it must be.
    auto value_of = [](int thread, int round) {
        std::string head = std::to_string(thread) + ":" + std::to_string(round) + ":";
        return head + std::string(512 + (thread * 37 + round) % 512, static_cast<char>('a' + thread));
    };
    auto well_formed = [&](const std::string& value) {
        int thread = -1, round = -1;
        if (std::sscanf(value.c_str(), "%d:%d:", &thread, &round) != 2) return false;
        return thread >= 0 && thread < kThreads && round >= 0 && round < kRounds &&
               value == value_of(thread, round);
    };
    if (!has(TOKEND_STORE_CAP_THREAD_SAFE)) {
        std::printf("note: the plugin is not THREAD_SAFE, so the host serializes these calls\n");
    }

    std::atomic<int> failures{0};
    std::mutex failure_mutex;
    std::string first_failure;
    auto fail = [&](std::string what) {
        if (failures++ == 0) {
            std::lock_guard<std::mutex> hold(failure_mutex);
            first_failure = std::move(what);
        }
    };
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < kThreads; ++t) {
            workers.emplace_back([&, t] {
                for (int r = 0; r < kRounds; ++r) {
                    const std::string own = "user-" + std::to_string(t) + "-" + std::to_string(r % 10);
                    StoreStatus put = store->put(Ns::user, own, value_of(t, r));
                    if (!put.ok()) return fail("put: " + put.describe());
                    std::string read;
                    StoreStatus got = store->get(Ns::user, own, &read);
                    if (!got.ok()) return fail("get of own key: " + got.describe());
                    if (read != value_of(t, r)) return fail("own key read back a different value");
                    put = store->put(Ns::user, "shared", value_of(t, r));
                    if (!put.ok()) return fail("put shared: " + put.describe());
                    got = store->get(Ns::user, "shared", &read);
                    if (!got.ok()) return fail("get shared: " + got.describe());
                    if (!well_formed(read)) return fail("the shared key held a torn value");
                }
            });
        }
    }
    EXPECT_EQ(failures.load(), 0) << first_failure;

    // Afterwards every thread's keys hold its last round for that key.
    for (int t = 0; t < kThreads; ++t) {
        for (int slot = 0; slot < 10; ++slot) {
            std::string read;
            ASSERT_STORE(ok, store->get(Ns::user, "user-" + std::to_string(t) + "-" + std::to_string(slot), &read));
            EXPECT_EQ(read, value_of(t, kRounds - 10 + slot));
        }
    }
    size_t listed = 0;
    ASSERT_STORE(ok, store->for_each_key(Ns::user, [&](std::string_view) { return ++listed, true; }));
    EXPECT_EQ(listed, static_cast<size_t>(kThreads * 10 + 1));
}

}  // namespace
}  // namespace tokend::conformance
