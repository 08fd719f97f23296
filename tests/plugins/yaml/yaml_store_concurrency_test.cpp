// Many threads at once: concurrent writers (group commit) lose nothing, concurrent
// takes of one flow have exactly one winner, and readers run alongside.
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <barrier>
#include <map>
#include <thread>

namespace tokend::yaml_test {
namespace {

std::string context_for(int thread, int step) {
    return nlohmann::ordered_json{
        {"user_id", "user-" + std::to_string(thread)},
        {"tokens",
         {{"access_token", "at-" + std::to_string(thread) + "-" + std::to_string(step)},
          {"expires_at", "2026-12-12T10:00:00.123456+00:00"},
          {"refresh_token", nullptr},
          {"token_type", "Bearer"}}}}
        .dump();
}

using State = std::map<std::string, std::string>;

State snapshot(Store& store, Ns ns) {
    State state;
    for (const std::string& key : all_keys(store, ns)) {
        std::string value;
        EXPECT_TRUE(store.get(ns, key, &value).ok()) << key;
        state[key] = value;
    }
    return state;
}

TEST(YamlStoreConcurrency, ConcurrentWritersLoseNothing) {
    constexpr int kThreads = 8;
    constexpr int kSteps = 200;
    TempDir dir;
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);

    std::vector<State> expected(kThreads * 2);  // per thread: users, flows
    std::atomic<int> failures{0};
    std::atomic<bool> writing{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            State& users = expected[t * 2];
            State& flows = expected[t * 2 + 1];
            for (int step = 0; step < kSteps; ++step) {
                const std::string key = "t" + std::to_string(t) + "-k" + std::to_string(step % 17);
                StoreStatus status;
                if (step % 5 == 4) {
                    status = store->del(Ns::user, key);
                    users.erase(key);
                } else if (step % 7 == 6) {
                    status = store->put(Ns::flow, key, context_for(t, step));
                    flows[key] = context_for(t, step);
                } else {
                    status = store->put(Ns::user, key, context_for(t, step));
                    users[key] = context_for(t, step);
                }
                if (!status.ok()) ++failures;
            }
        });
    }
    // Readers alongside the writers.
    std::thread reader([&] {
        while (writing) {
            std::string value;
            store->get(Ns::user, "t0-k1", &value);
            all_keys(*store, Ns::user);
        }
    });
    for (auto& thread : threads) thread.join();
    writing = false;
    reader.join();
    EXPECT_EQ(failures, 0);

    State users, flows;
    for (int t = 0; t < kThreads; ++t) {
        users.insert(expected[t * 2].begin(), expected[t * 2].end());
        flows.insert(expected[t * 2 + 1].begin(), expected[t * 2 + 1].end());
    }
    EXPECT_EQ(snapshot(*store, Ns::user), users);
    EXPECT_EQ(snapshot(*store, Ns::flow), flows);
    store.reset();
    store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(snapshot(*store, Ns::user), users);
    EXPECT_EQ(snapshot(*store, Ns::flow), flows);
}

TEST(YamlStoreConcurrency, ConcurrentTakesOfOneFlowHaveExactlyOneWinner) {
    constexpr int kThreads = 8;
    constexpr int kRounds = 40;
    TempDir dir;
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    for (int round = 0; round < kRounds; ++round) {
        const std::string flow = "flow-" + std::to_string(round);
        const std::string state =
            R"({"user_id":"u","created":"2026-12-12T10:00:00+00:00","round":)" +
            std::to_string(round) + "}";
        ASSERT_TRUE(store->put(Ns::flow, flow, state).ok());
        std::atomic<int> winners{0}, not_found{0}, other{0};
        std::barrier start(kThreads);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&] {
                start.arrive_and_wait();
                std::string value;
                const StoreStatus status = store->take(Ns::flow, flow, &value);
                if (status.ok() && value == state) {
                    ++winners;
                } else if (status.not_found()) {
                    ++not_found;
                } else {
                    ++other;
                }
            });
        }
        for (auto& thread : threads) thread.join();
        EXPECT_EQ(winners, 1) << "round " << round;
        EXPECT_EQ(not_found, kThreads - 1) << "round " << round;
        EXPECT_EQ(other, 0) << "round " << round;
    }
    store.reset();
    store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(all_keys(*store, Ns::flow).empty());
}

}  // namespace
}  // namespace tokend::yaml_test
