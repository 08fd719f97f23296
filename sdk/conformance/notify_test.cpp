// TOKEND_STORE_CAP_NOTIFY: instance B subscribes, instance A writes, and B hears
// of each change with the right namespace and key within a deadline. tokend uses
// this to drop cached user contexts another process has changed.
#include "fixture.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <tuple>

namespace tokend::conformance {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeliveryDeadline = 2s;

struct Event {
    Ns ns;
    StoreChange change;
    std::string key;
    bool operator==(const Event&) const = default;
};

std::string describe(const Event& event) {
    const char* change = event.change == StoreChange::put      ? "PUT"
                         : event.change == StoreChange::del    ? "DELETE"
                                                               : "RESYNC";
    return std::string(change) + " " + std::string(to_string(event.ns)) + " '" + event.key + "'";
}

// What the subscriber heard, from whatever thread the plugin calls back on.
class EventLog {
public:
    StoreChangeSink sink() {
        return [this](Ns ns, StoreChange change, std::string_view key) {
            std::lock_guard<std::mutex> hold(mutex_);
            events_.push_back({ns, change, std::string(key)});
            heard_.notify_all();
        };
    }

    // Waits (no longer than the deadline) until `expected` was heard `times` times.
    ::testing::AssertionResult wait_for(const Event& expected, long times = 1) {
        std::unique_lock<std::mutex> hold(mutex_);
        const bool seen = heard_.wait_for(hold, kDeliveryDeadline, [&] {
            return std::count(events_.begin(), events_.end(), expected) >= times;
        });
        if (seen) return ::testing::AssertionSuccess();
        std::string heard;
        for (const Event& event : events_) heard += "\n  " + describe(event);
        return ::testing::AssertionFailure()
               << "no " << describe(expected) << " within " << kDeliveryDeadline.count()
               << " s; heard:" << (heard.empty() ? " nothing" : heard);
    }

    std::vector<Event> events() {
        std::lock_guard<std::mutex> hold(mutex_);
        return events_;
    }

private:
    std::mutex mutex_;
    std::condition_variable heard_;
    std::vector<Event> events_;
};

class Notify : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        if (!has(TOKEND_STORE_CAP_NOTIFY)) {
            GTEST_SKIP() << "the plugin does not declare TOKEND_STORE_CAP_NOTIFY";
        }
        ASSERT_TRUE(open(&a_));
        std::string skip_reason;
        // B subscribes first thing: store.h has subscribe before any other call.
        ASSERT_NO_FATAL_FAILURE(open_second(*a_, &b_, &skip_reason, [this](Store& b) {
            ASSERT_STORE(ok, b.subscribe(log_.sink()));
        }));
        ASSERT_TRUE(b_) << skip_reason;
    }
    void TearDown() override {
        b_.reset();  // closes the subscription before the log goes away
        a_.reset();
        ConformanceTest::TearDown();
    }

    std::unique_ptr<Store> a_, b_;
    EventLog log_;
};

TEST_F(Notify, PutsDeletesAndTakesAreReported) {
    const std::string key = "user-" + unique();
    const std::string binary_key("n\0k\xff", 4);
    std::string value;

    ASSERT_STORE(ok, a_->put(Ns::user, key, secret_value("v1")));
    EXPECT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key}));
    ASSERT_STORE(ok, a_->put(Ns::flow, key, secret_value("flow")));
    EXPECT_TRUE(log_.wait_for({Ns::flow, StoreChange::put, key}));
    ASSERT_STORE(ok, a_->put(Ns::user, binary_key, "v"));
    EXPECT_TRUE(log_.wait_for({Ns::user, StoreChange::put, binary_key}));

    ASSERT_STORE(ok, a_->del(Ns::user, key));
    EXPECT_TRUE(log_.wait_for({Ns::user, StoreChange::del, key}));
    ASSERT_STORE(ok, a_->take(Ns::flow, key, &value));
    EXPECT_TRUE(log_.wait_for({Ns::flow, StoreChange::del, key})) << "a take is reported as DELETE";

    // Nothing heard about a (namespace, key) that was not changed.
    const std::vector<Event> touched = {{Ns::user, StoreChange::put, key},
                                        {Ns::flow, StoreChange::put, key},
                                        {Ns::user, StoreChange::put, binary_key},
                                        {Ns::user, StoreChange::del, key},
                                        {Ns::flow, StoreChange::del, key}};
    for (const Event& event : log_.events()) {
        if (event.change == StoreChange::resync) continue;  // always allowed
        if (event.key.starts_with(kProbePrefix)) continue;  // open_second's check
        EXPECT_NE(std::find(touched.begin(), touched.end(), event), touched.end())
            << "heard " << describe(event) << ", which did not happen";
    }
}

TEST_F(Notify, FencedPutsAreReported) {
    if (!has(TOKEND_STORE_CAP_LOCK)) GTEST_SKIP() << "the plugin does not declare TOKEND_STORE_CAP_LOCK";
    const std::string key = "user-" + unique();
    uint64_t fence = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, key, 30s, &fence));
    ASSERT_STORE(ok, a_->put_fenced(Ns::user, key, secret_value("refreshed"), fence));
    EXPECT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key}));
}

TEST_F(Notify, ComparedPutsAreReported) {
    if (!a_->compares_atomically()) GTEST_SKIP() << "the plugin does not provide put_if_equal";
    const std::string key = "user-" + unique();
    ASSERT_STORE(ok, a_->put(Ns::user, key, secret_value("read")));
    ASSERT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key}));
    std::string current;
    bool changed = false;
    ASSERT_STORE(ok, a_->put_if_equal(Ns::user, key, secret_value("read"), secret_value("refreshed"), std::nullopt,
                                      &current, &changed));
    EXPECT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key}, 2)) << "a compared put is reported as PUT";
    // A refused one is not reported.
    EXPECT_STORE(conflict, a_->put_if_equal(Ns::user, key, secret_value("read"), secret_value("late"), std::nullopt,
                                            &current, &changed));
    EXPECT_STORE(ok, a_->del(Ns::user, key));
    ASSERT_TRUE(log_.wait_for({Ns::user, StoreChange::del, key}));
    const std::vector<Event> heard = log_.events();
    EXPECT_EQ(std::count(heard.begin(), heard.end(), Event{Ns::user, StoreChange::put, key}), 2)
        << "a refused compared put was reported";
}

// close() returns only when no callback runs any more; none may come afterwards.
TEST_F(Notify, NoCallbackAfterClose) {
    auto after_close = std::make_shared<std::atomic<int>>(0);
    auto closed = std::make_shared<std::atomic<bool>>(false);
    std::unique_ptr<Store> c;
    ASSERT_TRUE(open(&c));
    ASSERT_STORE(ok, c->subscribe([after_close, closed](Ns, StoreChange, std::string_view) {
        if (closed->load()) ++*after_close;
    }));
    const std::string key = "user-" + unique();
    ASSERT_STORE(ok, a_->put(Ns::user, key, "before close"));
    ASSERT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key}));
    c.reset();
    closed->store(true);
    for (int i = 0; i < 20; ++i) ASSERT_STORE(ok, a_->put(Ns::user, key, "after close " + std::to_string(i)));
    // Once B heard a later write, the plugin has delivered the ones before it.
    ASSERT_STORE(ok, a_->put(Ns::user, key + "-last", "last"));
    ASSERT_TRUE(log_.wait_for({Ns::user, StoreChange::put, key + "-last"}));
    EXPECT_EQ(after_close->load(), 0) << "a closed instance's callback was still called";
}

}  // namespace
}  // namespace tokend::conformance
