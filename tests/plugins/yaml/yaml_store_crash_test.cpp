// Crash safety: a writer process is SIGKILLed at random moments, again and again on
// the same files. After each kill the files must open (parse), and hold every
// acknowledged operation, the seeded users, and nothing else but at most each
// thread's one operation in flight. TOKEND_YAML_CRASH_ITERATIONS sets the number of
// kills (scripts/yaml-crash-soak.sh sets it high); TOKEND_YAML_CRASH_SEED replays a run.
#include "child_process.h"
#include "crash_workload.h"
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace tokend::yaml_test {
namespace {

using yaml_crash::Op;
using yaml_crash::State;
using namespace std::chrono_literals;

constexpr int kSeedUsers = 300;

// Kills per CI run: about 8 s. Under AddressSanitizer each process start alone takes
// ~0.3 s, so fewer there; the plain build gives the crash coverage.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultKills = 12;
#else
constexpr int kDefaultKills = 20;
#endif

int env_int(const char* name, int fallback) {
    const char* text = std::getenv(name);
    return text != nullptr && *text != '\0' ? std::atoi(text) : fallback;
}

size_t count_acks(const std::string& output) {
    size_t count = 0;
    for (size_t at = output.find("ack "); at != std::string::npos; at = output.find("ack ", at + 4))
        ++count;
    return count;
}

// The last acknowledged index of each writer thread (-1: none).
std::array<int64_t, yaml_crash::kWriterThreads> last_acks(const std::string& output) {
    std::array<int64_t, yaml_crash::kWriterThreads> last;
    last.fill(-1);
    std::istringstream lines(output);
    std::string word;
    int thread = 0;
    int64_t index = 0;
    while (lines >> word) {
        if (word != "ack") continue;
        if (!(lines >> thread >> index)) break;
        if (thread >= 0 && thread < yaml_crash::kWriterThreads && index > last[thread]) {
            last[thread] = index;
        }
    }
    return last;
}

State read_state(Store& store) {
    State state;
    for (Ns ns : {Ns::user, Ns::flow}) {
        for (const std::string& key : all_keys(store, ns)) {
            std::string value;
            EXPECT_TRUE(store.get(ns, key, &value).ok());
            state[{ns, key}] = value;
        }
    }
    return state;
}

std::string describe(const std::pair<Ns, std::string>& key) {
    return std::string(to_string(key.first)) + " " + key.second;
}

// What the files may hold: `acked` exactly, except that each thread's one operation in
// flight may have landed too.
void expect_allowed(
    const State& actual, const State& acked,
    const std::map<std::pair<Ns, std::string>, std::optional<std::string>>& in_flight,
    int iteration) {
    std::set<std::pair<Ns, std::string>> keys;
    for (const auto& [key, value] : actual) keys.insert(key);
    for (const auto& [key, value] : acked) keys.insert(key);
    for (const auto& key : keys) {
        const auto a = actual.find(key);
        const auto e = acked.find(key);
        const std::optional<std::string> have =
            a == actual.end() ? std::nullopt : std::optional<std::string>(a->second);
        const std::optional<std::string> want =
            e == acked.end() ? std::nullopt : std::optional<std::string>(e->second);
        if (have == want) continue;
        const auto flight = in_flight.find(key);
        if (flight != in_flight.end() && flight->second == have) continue;
        ADD_FAILURE() << "kill " << iteration << ": " << describe(key) << " is "
                      << (have ? "present" : "absent") << ", acknowledged state has it "
                      << (want ? "present" : "absent") << (have && want ? " (values differ)" : "");
    }
}

TEST(YamlStoreCrash, AcknowledgedWritesSurviveSigkill) {
    const int iterations = env_int("TOKEND_YAML_CRASH_ITERATIONS", kDefaultKills);
    const unsigned seed =
        static_cast<unsigned>(env_int("TOKEND_YAML_CRASH_SEED", std::random_device{}()));
    std::cout << "crash test: " << iterations << " kills, TOKEND_YAML_CRASH_SEED=" << seed << "\n";
    std::mt19937 random(seed);

    TempDir dir;
    const std::string users = dir.file("users.yml");
    write_file(users, yaml_crash::seed_users_file(kSeedUsers));
    State state;
    {
        auto store = open_yaml_or_fail(users);
        ASSERT_NE(store, nullptr);
        state = read_state(*store);
    }
    ASSERT_EQ(state.size(), static_cast<size_t>(kSeedUsers));
    const State seeded = state;

    int killed_mid_write = 0;
    for (int iteration = 0; iteration < iterations; ++iteration) {
        auto writer =
            test::ChildProcess::start({YAML_CRASH_WRITER, users, std::to_string(iteration)});
        const size_t wanted_acks = std::uniform_int_distribution<size_t>(0, 40)(random);
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (count_acks(writer->output()) < wanted_acks &&
               writer->output().find("error") == std::string::npos &&
               std::chrono::steady_clock::now() < give_up) {
            writer->wait_for_output("\x01", 2ms);  // reads what arrives for 2 ms
        }
        // A random moment after that many acknowledgements, often inside a commit.
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(random)));
        writer->send_signal(SIGKILL);
        const int exit_code = writer->wait(10s);
        const std::string output = writer->output();
        ASSERT_EQ(output.find("error"), std::string::npos) << output;
        ASSERT_EQ(exit_code, 128 + SIGKILL) << output;

        // Replay what was acknowledged; note each thread's operation in flight.
        const auto last = last_acks(output);
        std::map<std::pair<Ns, std::string>, std::optional<std::string>> in_flight;
        for (int thread = 0; thread < yaml_crash::kWriterThreads; ++thread) {
            for (int64_t index = 0; index <= last[thread]; ++index) {
                yaml_crash::apply(
                    yaml_crash::op_for(iteration, thread, static_cast<uint64_t>(index)), &state);
            }
            const Op next =
                yaml_crash::op_for(iteration, thread, static_cast<uint64_t>(last[thread] + 1));
            in_flight[{next.ns, next.key}] =
                next.kind == Op::Kind::put ? std::optional<std::string>(next.value) : std::nullopt;
        }

        if (file_exists(users + ".tmp") || file_exists(dir.file("users.flows.yml.tmp"))) {
            ++killed_mid_write;
        }
        auto store = open_yaml_or_fail(users);
        ASSERT_NE(store, nullptr) << "kill " << iteration << ": the files do not open";
        EXPECT_FALSE(file_exists(users + ".tmp"));
        EXPECT_FALSE(file_exists(dir.file("users.flows.yml.tmp")));
        const State actual = read_state(*store);
        expect_allowed(actual, state, in_flight, iteration);
        for (const auto& [key, value] : seeded) {
            const auto found = actual.find(key);
            ASSERT_TRUE(found != actual.end() && found->second == value)
                << "kill " << iteration << ": seeded " << describe(key) << " damaged";
        }
        if (HasFailure()) return;
        state = actual;  // the next run starts from what is on disk
    }
    std::cout << "crash test: " << killed_mid_write << " of " << iterations
              << " kills left a temp file behind (killed while writing)\n";

    // The survivors are still files the Python bot can load.
    std::string output;
    EXPECT_EQ(run_python({script_path("python_read_store.py"), users, dir.file("users.flows.yml")},
                         &output),
              0)
        << output;
}

}  // namespace
}  // namespace tokend::yaml_test
