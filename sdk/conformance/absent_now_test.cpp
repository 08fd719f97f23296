// absent_now() (store ABI 1.4, optional): says at once that a take would find
// nothing. tokend asks it on its event loop for the state of a redirect, and
// answers an unknown or used state without a worker thread; a wrong "absent"
// would turn away a user whose flow is there, so a key that is there must never
// be said absent, also while other threads write and take. Skipped for a
// plugin that does not provide it (the host then always takes on a worker).
#include "fixture.h"

#include <atomic>
#include <thread>

namespace tokend::conformance {
namespace {

class AbsentNow : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_TRUE(open(&store_));
        if (!store_->answers_absence_inline()) GTEST_SKIP() << "the plugin does not provide absent_now";
        key_ = "flow-" + unique();
    }
    void TearDown() override {
        store_.reset();
        ConformanceTest::TearDown();
    }

    std::unique_ptr<Store> store_;
    std::string key_;
};

TEST_F(AbsentNow, AKeyThatIsThereIsNeverSaidAbsent) {
    ASSERT_STORE(ok, store_->put(Ns::flow, key_, secret_value("flow")));
    EXPECT_FALSE(store_->absent_now(Ns::flow, key_));
    ASSERT_STORE(ok, store_->put(Ns::flow, key_, ""));  // an empty value is a value
    EXPECT_FALSE(store_->absent_now(Ns::flow, key_));
    ASSERT_STORE(ok, store_->put(Ns::user, key_, secret_value("user")));
    EXPECT_FALSE(store_->absent_now(Ns::user, key_));
}

TEST_F(AbsentNow, AKeyNeverWrittenTakenOrDeletedIsSaidAbsent) {
    // Saying "cannot tell" is allowed, but a plugin that never says absent
    // gains tokend nothing: the settled cases must be answered.
    EXPECT_TRUE(store_->absent_now(Ns::flow, key_));
    ASSERT_STORE(ok, store_->put(Ns::user, key_, secret_value("user")));
    EXPECT_TRUE(store_->absent_now(Ns::flow, key_)) << "the user namespace's key is not the flow's";
    ASSERT_STORE(ok, store_->put(Ns::flow, key_, secret_value("flow")));
    std::string value;
    ASSERT_STORE(ok, store_->take(Ns::flow, key_, &value));
    EXPECT_TRUE(store_->absent_now(Ns::flow, key_));
    ASSERT_STORE(ok, store_->put(Ns::flow, key_, secret_value("again")));
    EXPECT_FALSE(store_->absent_now(Ns::flow, key_));
    ASSERT_STORE(ok, store_->del(Ns::flow, key_));
    EXPECT_TRUE(store_->absent_now(Ns::flow, key_));
}

// The host asks beside any call: a key that stays put is never said absent while
// other threads put, take and delete other keys around it.
TEST_F(AbsentNow, AnswersBesideConcurrentWritesWithoutMistakingAKeyThatStays) {
    ASSERT_STORE(ok, store_->put(Ns::flow, key_, secret_value("stays")));
    std::atomic<bool> stop{false};
    std::atomic<int> errors{0};
    {
        std::vector<std::jthread> writers;
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&, t] {
                for (int i = 0; !stop && i < 2000; ++i) {
                    const std::string other = key_ + "-" + std::to_string(t) + "-" + std::to_string(i % 16);
                    std::string value;
                    if (!store_->put(Ns::flow, other, secret_value("churn")).ok()) ++errors;
                    const StoreStatus taken = store_->take(Ns::flow, other, &value);
                    if (!taken.ok() && !taken.not_found()) ++errors;
                }
            });
        }
        int said_absent = 0;
        for (int i = 0; i < 20000; ++i) said_absent += store_->absent_now(Ns::flow, key_) ? 1 : 0;
        stop = true;
        EXPECT_EQ(said_absent, 0) << "a key that was there all along was said absent";
    }
    EXPECT_EQ(errors.load(), 0);
    std::string value;
    EXPECT_STORE(ok, store_->get(Ns::flow, key_, &value));
}

}  // namespace
}  // namespace tokend::conformance
