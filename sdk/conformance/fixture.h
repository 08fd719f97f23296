// The base of every conformance test: a fresh config per test case (its own
// temp dir and unique name, so each test starts from an empty store), helpers
// to open instances, and the check that the plugin never shows a stored value
// in a log line or an error message.
#pragma once

#include "host/store.h"
#include "raw_store.h"
#include "target.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::conformance {

// A marker random to this run. Tests put it inside stored values; if it shows up in
// a log line or a status message, the plugin leaked a value (values hold tokens).
const std::string& secret_marker();

// A value shaped like a stored user context whose token is the secret marker.
std::string secret_value(std::string_view tag);

// Passes when status has the expected code and its message holds no secret.
::testing::AssertionResult has_code(const StoreStatus& status, StoreCode expected,
                                    const char* expression);

#define EXPECT_STORE(code, expr) \
    EXPECT_TRUE(::tokend::conformance::has_code((expr), ::tokend::StoreCode::code, #expr))
#define ASSERT_STORE(code, expr) \
    ASSERT_TRUE(::tokend::conformance::has_code((expr), ::tokend::StoreCode::code, #expr))

// Polls condition until it holds or the deadline passes; true if it held. For
// things that happen "eventually" (a lapsing lease, a delivered notification):
// it waits no longer than needed and fails after a bounded time.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step = std::chrono::milliseconds(5));

class ConformanceTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    const Target& under_test() const { return target(); }
    bool has(uint64_t capability) const { return target().has(capability); }
    const std::string& config() const { return config_; }
    const std::string& unique() const { return unique_; }
    // This test's temp directory ("@TMPDIR@"); empty when the config has none.
    const std::string& temp_dir() const { return temp_dir_; }

    // Opens one more instance on this test's config, through the host's wrapper.
    ::testing::AssertionResult open(std::unique_ptr<Store>* out);
    // Opens an instance through the probing host (see raw_store.h).
    ::testing::AssertionResult open_raw(std::unique_ptr<RawStore>* out);

    // For tests that need two instances on the same data: opens *second and checks
    // that it sees what `first` writes. A plugin that declares LOCK, NOTIFY or
    // SHARED must offer that (else a fatal failure); for any other plugin a refusal
    // is allowed: *second stays empty and *skip_reason says why (the test skips).
    // `prepare` runs on the second instance right after it opened, before any
    // other call (subscribe must come first, store.h). The check writes and
    // deletes a key starting with kProbePrefix.
    void open_second(Store& first, std::unique_ptr<Store>* second, std::string* skip_reason,
                     const std::function<void(Store&)>& prepare = {});
    static constexpr std::string_view kProbePrefix = "conformance-probe-";

private:
    void record_log(tokend_log_level level, std::string_view message);

    std::string unique_;
    std::string temp_dir_;
    std::string config_;
    std::mutex log_mutex_;  // plugins may log from any thread
    std::vector<std::string> log_lines_;
};

}  // namespace tokend::conformance
