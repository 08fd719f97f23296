#include "fixture.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

namespace tokend::conformance {
namespace {

std::string random_hex(size_t digits) {
    std::random_device entropy;
    std::string text;
    while (text.size() < digits) {
        char chunk[16];
        std::snprintf(chunk, sizeof chunk, "%08x", static_cast<unsigned>(entropy()));
        text += chunk;
    }
    text.resize(digits);
    return text;
}

// Unique within this run (sequence), and across runs and hosts that share a
// backend such as one Redis server (pid plus random part).
std::string next_unique_name() {
    static const std::string run = std::to_string(::getpid()) + "-" + random_hex(8);
    static std::atomic<unsigned> sequence{0};
    return "tc-" + run + "-" + std::to_string(++sequence);
}

std::string make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tokend-conformance-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return {};
    return pattern;
}

const char* level_name(tokend_log_level level) {
    switch (level) {
        case TOKEND_LOG_DEBUG: return "debug";
        case TOKEND_LOG_INFO: return "info";
        case TOKEND_LOG_WARN: return "warn";
        case TOKEND_LOG_ERROR: return "error";
    }
    return "level?";
}

}  // namespace

const std::string& secret_marker() {
    static const std::string marker = "s3cret-" + random_hex(16);
    return marker;
}

::testing::AssertionResult has_code(const StoreStatus& status, StoreCode expected,
                                    const char* expression) {
    if (status.message.find(secret_marker()) != std::string::npos) {
        return ::testing::AssertionFailure()
               << expression << ": the status message contains a stored value";
    }
    if (status.code != expected) {
        return ::testing::AssertionFailure() << expression << " returned " << status.describe()
                                             << ", expected " << to_string(expected);
    }
    return ::testing::AssertionSuccess();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= give_up) return false;
        std::this_thread::sleep_for(step);
    }
}

void ConformanceTest::SetUp() {
    unique_ = next_unique_name();
    if (target().needs_temp_dir()) {
        temp_dir_ = make_temp_dir();
        ASSERT_FALSE(temp_dir_.empty()) << "cannot create a temp directory: " << std::strerror(errno);
    }
    config_ = expand_config(target().config_template, temp_dir_, unique_);
}

void ConformanceTest::TearDown() {
    // Every instance a test opened is a local of the test body, so all are closed by now.
    std::vector<std::string> lines;
    {
        std::lock_guard<std::mutex> hold(log_mutex_);
        lines.swap(log_lines_);
    }
    for (const std::string& line : lines) {
        EXPECT_EQ(line.find(secret_marker()), std::string::npos)
            << "the plugin logged a stored value (values hold tokens and must never be logged)";
    }
    if (HasFailure() && !lines.empty()) {
        std::string shown = "plugin log during this test:\n";
        for (const std::string& line : lines) shown += "  " + line + "\n";
        std::fputs(shown.c_str(), stderr);
    }
    if (!temp_dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(temp_dir_, ignored);
    }
}

std::string secret_value(std::string_view tag) {
    return "{\"access_token\":\"" + secret_marker() + "\",\"tag\":\"" + std::string(tag) + "\"}";
}

void ConformanceTest::record_log(tokend_log_level level, std::string_view message) {
    std::lock_guard<std::mutex> hold(log_mutex_);
    log_lines_.push_back(std::string(level_name(level)) + ": " + std::string(message));
}

::testing::AssertionResult ConformanceTest::open(std::unique_ptr<Store>* out) {
    StoreStatus status = Store::open(
        target().plugin, config_,
        [this](tokend_log_level level, std::string_view message) { record_log(level, message); },
        out);
    if (!status.ok() || !*out) {
        return ::testing::AssertionFailure() << "open with " << config_ << " failed: " << status.describe();
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult ConformanceTest::open_raw(std::unique_ptr<RawStore>* out) {
    RawResult result = RawStore::open(
        target().plugin, config_,
        [this](tokend_log_level level, std::string_view message) { record_log(level, message); },
        out);
    if (result.status != TOKEND_OK || !*out) {
        return ::testing::AssertionFailure() << "open with " << config_ << " failed with status "
                                             << result.status << ": " << result.reply.error;
    }
    return ::testing::AssertionSuccess();
}

void ConformanceTest::open_second(Store& first, std::unique_ptr<Store>* second,
                                  std::string* skip_reason, const std::function<void(Store&)>& prepare) {
    second->reset();
    skip_reason->clear();
    const uint64_t multi = TOKEND_STORE_CAP_LOCK | TOKEND_STORE_CAP_NOTIFY | TOKEND_STORE_CAP_SHARED;
    const bool must_share = (target().plugin->capabilities() & multi) != 0;
    const std::string declared = describe_capabilities(target().plugin->capabilities());

    std::unique_ptr<Store> other;
    StoreStatus opened = Store::open(
        target().plugin, config_,
        [this](tokend_log_level level, std::string_view message) { record_log(level, message); },
        &other);
    if (!opened.ok()) {
        if (must_share) {
            FAIL() << "a second instance on the same config failed to open (" << opened.describe()
                   << "), but the plugin declares " << declared
                   << ", which needs instances that share data";
        }
        *skip_reason = "the plugin refuses a second instance on the same config (" +
                       opened.describe() + "); it declares no LOCK, NOTIFY or SHARED, so that is allowed";
        return;
    }

    if (prepare) {
        ASSERT_NO_FATAL_FAILURE(prepare(*other));
    }
    const std::string probe_key = std::string(kProbePrefix) + unique_;
    ASSERT_STORE(ok, first.put(Ns::user, probe_key, "probe"));
    std::string seen;
    StoreStatus read = other->get(Ns::user, probe_key, &seen);
    ASSERT_STORE(ok, first.del(Ns::user, probe_key));
    if (!read.ok() || seen != "probe") {
        if (must_share) {
            FAIL() << "a second instance on the same config does not see the first one's writes ("
                   << read.describe() << "), but the plugin declares " << declared;
        }
        *skip_reason = "two instances on the same config do not share data; the plugin declares no "
                       "LOCK, NOTIFY or SHARED, so that is allowed";
        return;
    }
    *second = std::move(other);
}

}  // namespace tokend::conformance
