// put_if_equal() (store ABI 1.2, optional): compare-and-put. tokend commits a
// refreshed token with it, against the bytes it read, so that a plain write by
// a writer that takes no lease (the Python module tokend replaces) landing
// between tokend's read and its write is never overwritten. Skipped for a
// plugin that does not provide it (the host then compares and writes in two
// steps).
#include "fixture.h"

#include <atomic>
#include <barrier>
#include <thread>

namespace tokend::conformance {
namespace {

using namespace std::chrono_literals;

class PutIfEqual : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_TRUE(open_raw(&store_));
        if (!store_->can_put_if_equal()) GTEST_SKIP() << "the plugin does not provide put_if_equal";
        key_ = "user-" + unique();
    }
    void TearDown() override {
        store_.reset();
        ConformanceTest::TearDown();
    }

    // The value under key_ as get gives it; "<absent>" when there is none.
    std::string stored() {
        RawResult got = store_->get(Ns::user, key_);
        if (got.status == TOKEND_NOT_FOUND) return "<absent>";
        EXPECT_EQ(got.status, TOKEND_OK);
        EXPECT_EQ(got.reply.values.size(), 1u);
        return got.reply.values.empty() ? "<no value>" : got.reply.values[0];
    }

    // A second instance on the same config, or nothing for a plugin that
    // refuses one (the yaml plugin locks its file).
    std::unique_ptr<RawStore> second_instance() {
        std::unique_ptr<RawStore> other;
        if (!open_raw(&other)) other.reset();
        return other;
    }

    // A status message must never hold a value (they hold tokens).
    void expect_no_secret(const RawResult& result) {
        EXPECT_EQ(result.reply.error.find(secret_marker()), std::string::npos)
            << "the message shows a stored value: " << result.reply.error;
    }

    std::unique_ptr<RawStore> store_;
    std::string key_;
};

TEST_F(PutIfEqual, WritesWhenTheStoredBytesAreTheExpectedOnes) {
    const std::string read = secret_value("read") + std::string("\0\xff", 2);
    ASSERT_EQ(store_->put(Ns::user, key_, read).status, TOKEND_OK);
    RawResult written = store_->put_if_equal(Ns::user, key_, read, secret_value("refreshed"));
    EXPECT_EQ(written.status, TOKEND_OK) << written.reply.error;
    EXPECT_TRUE(written.reply.values.empty()) << "a written compare-and-put gives no value";
    EXPECT_EQ(stored(), secret_value("refreshed"));
    // An empty value is a value: it can be expected and written.
    ASSERT_EQ(store_->put_if_equal(Ns::user, key_, secret_value("refreshed"), "").status, TOKEND_OK);
    EXPECT_EQ(stored(), "");
    ASSERT_EQ(store_->put_if_equal(Ns::user, key_, "", "after empty").status, TOKEND_OK);
    EXPECT_EQ(stored(), "after empty");
    // The same key in the other namespace is another entry.
    EXPECT_EQ(store_->put_if_equal(Ns::flow, key_, "after empty", "x").status, TOKEND_NOT_FOUND);
}

// tokend reads the context, a plain writer (no lease) replaces it, tokend's
// compare-and-put comes: it must be refused, give what is there now, and leave it.
TEST_F(PutIfEqual, AValueChangedSinceItWasReadIsNeitherOverwrittenNorLost) {
    const std::string read = secret_value("tokend read this");
    ASSERT_EQ(store_->put(Ns::user, key_, read).status, TOKEND_OK);
    ASSERT_EQ(stored(), read);

    // Through a second instance where the plugin shares data between them, else the same one.
    std::unique_ptr<RawStore> plain_writer = second_instance();
    const bool shared = plain_writer && plain_writer->get(Ns::user, key_).status == TOKEND_OK;
    RawStore& writer = shared ? *plain_writer : *store_;
    const std::string theirs = secret_value("the python module wrote this");
    ASSERT_EQ(writer.put(Ns::user, key_, theirs).status, TOKEND_OK);

    RawResult refused = store_->put_if_equal(Ns::user, key_, read, secret_value("tokend's refresh"));
    EXPECT_EQ(refused.status, TOKEND_CONFLICT);
    ASSERT_EQ(refused.reply.values.size(), 1u) << "a changed value comes back exactly once through reply_value";
    EXPECT_EQ(refused.reply.values[0], theirs);
    expect_no_secret(refused);
    EXPECT_EQ(stored(), theirs) << "the other writer's value was overwritten";

    // Near misses are changes too: a prefix, one byte more, one byte different.
    for (const std::string& wrong : {theirs.substr(0, theirs.size() - 1), theirs + " ", std::string(theirs).replace(0, 1, "["),
                                     std::string()}) {
        RawResult near = store_->put_if_equal(Ns::user, key_, wrong, "must not land");
        EXPECT_EQ(near.status, TOKEND_CONFLICT) << "expected " << wrong.size() << " bytes";
        EXPECT_EQ(near.reply.values, std::vector<std::string>{theirs});
    }
    EXPECT_EQ(stored(), theirs);

    // Compared again against what is there now, it goes through.
    EXPECT_EQ(store_->put_if_equal(Ns::user, key_, theirs, secret_value("tokend's refresh")).status, TOKEND_OK);
    EXPECT_EQ(stored(), secret_value("tokend's refresh"));
}

TEST_F(PutIfEqual, AnAbsentKeyIsNotFoundAndNotCreated) {
    RawResult absent = store_->put_if_equal(Ns::user, key_, "", secret_value("new"));
    EXPECT_EQ(absent.status, TOKEND_NOT_FOUND);
    EXPECT_TRUE(absent.reply.values.empty());
    EXPECT_TRUE(absent.reply.error.empty()) << "NOT_FOUND comes without a message";
    EXPECT_EQ(stored(), "<absent>") << "an empty expected value matched a missing key";

    ASSERT_EQ(store_->put(Ns::user, key_, "there").status, TOKEND_OK);
    ASSERT_EQ(store_->del(Ns::user, key_).status, TOKEND_OK);
    EXPECT_EQ(store_->put_if_equal(Ns::user, key_, "there", secret_value("after delete")).status, TOKEND_NOT_FOUND);
    EXPECT_EQ(stored(), "<absent>") << "a deleted context came back";
}

TEST_F(PutIfEqual, ALostFenceWritesNothing) {
    if (!has(TOKEND_STORE_CAP_LOCK)) {
        const uint64_t fence = 1;
        ASSERT_EQ(store_->put(Ns::user, key_, "v").status, TOKEND_OK);
        EXPECT_EQ(store_->put_if_equal(Ns::user, key_, "v", "w", &fence).status, TOKEND_INVALID)
            << "a plugin without leases refuses a fencing token";
        EXPECT_EQ(stored(), "v");
        return;
    }
    // Through the host's wrapper, on the instance that holds the lease (a fence
    // may be tied to its holder's instance, as in the redis plugin).
    std::unique_ptr<Store> holder;
    ASSERT_TRUE(open(&holder));
    ASSERT_TRUE(holder->compares_atomically());
    const std::string read = secret_value("read");
    ASSERT_EQ(store_->put(Ns::user, key_, read).status, TOKEND_OK);
    uint64_t fence = 0;
    ASSERT_STORE(ok, holder->lock_acquire(Ns::user, key_, 30s, &fence));
    std::string current;
    bool changed = true;

    for (uint64_t wrong : {fence + 1, fence - 1}) {
        EXPECT_STORE(conflict, holder->put_if_equal(Ns::user, key_, read, secret_value("wrong fence"), wrong,
                                                    &current, &changed))
            << "fence " << wrong << " while " << fence << " holds the lease";
        EXPECT_FALSE(changed) << "a lost fence is a CONFLICT without a value";
    }
    // The lease is checked first: a lost fence and a changed value is "fenced out".
    EXPECT_STORE(conflict, holder->put_if_equal(Ns::user, key_, "not what is there", "w", fence + 1, &current,
                                                &changed));
    EXPECT_FALSE(changed);
    // A fence covers one namespace.
    ASSERT_EQ(store_->put(Ns::flow, key_, read).status, TOKEND_OK);
    EXPECT_STORE(conflict, holder->put_if_equal(Ns::flow, key_, read, "w", fence, &current, &changed));
    EXPECT_FALSE(changed);
    EXPECT_EQ(stored(), read);

    // The holder's fence with a changed value: the value comes back.
    const std::string theirs = secret_value("theirs");
    ASSERT_EQ(store_->put(Ns::user, key_, theirs).status, TOKEND_OK);
    EXPECT_STORE(conflict, holder->put_if_equal(Ns::user, key_, read, "w", fence, &current, &changed));
    EXPECT_TRUE(changed);
    EXPECT_EQ(current, theirs);
    // The holder's fence with the stored bytes: written.
    EXPECT_STORE(ok, holder->put_if_equal(Ns::user, key_, theirs, secret_value("fenced"), fence, &current, &changed));
    EXPECT_EQ(stored(), secret_value("fenced"));

    ASSERT_STORE(ok, holder->lock_release(Ns::user, key_, fence));
    EXPECT_STORE(conflict, holder->put_if_equal(Ns::user, key_, secret_value("fenced"), "after release", fence,
                                                &current, &changed))
        << "a released lease no longer allows writes";
    EXPECT_FALSE(changed);
    EXPECT_EQ(stored(), secret_value("fenced"));
}

// Threads increment one counter by compare-and-put, retrying with the value a
// refusal gives: every increment that was acknowledged must be in the result.
// A plugin that compares and writes in two steps loses some.
TEST_F(PutIfEqual, ConcurrentComparedPutsLoseNoUpdate) {
    constexpr int kThreads = 8;
    constexpr int kIncrements = 40;
    ASSERT_EQ(store_->put(Ns::user, key_, "0").status, TOKEND_OK);
    std::unique_ptr<RawStore> second = second_instance();
    const bool shared = second && second->get(Ns::user, key_).status == TOKEND_OK;
    std::atomic<int> acknowledged{0}, errors{0};
    std::barrier start_line(kThreads);
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t) {
            RawStore& store = shared && t % 2 == 1 ? *second : *store_;
            threads.emplace_back([&, &store = store] {
                start_line.arrive_and_wait();
                for (int i = 0; i < kIncrements; ++i) {
                    RawResult got = store.get(Ns::user, key_);
                    if (got.status != TOKEND_OK || got.reply.values.size() != 1) {
                        ++errors;
                        return;
                    }
                    std::string seen = got.reply.values[0];
                    for (int tries = 0;; ++tries) {
                        RawResult put = store.put_if_equal(Ns::user, key_, seen, std::to_string(std::stol(seen) + 1));
                        if (put.status == TOKEND_OK) {
                            ++acknowledged;
                            break;
                        }
                        if (put.status != TOKEND_CONFLICT || put.reply.values.size() != 1 || tries > 10000) {
                            ++errors;
                            return;
                        }
                        seen = put.reply.values[0];
                    }
                }
            });
        }
    }
    ASSERT_EQ(errors.load(), 0) << "a get or compare-and-put failed";
    EXPECT_EQ(acknowledged.load(), kThreads * kIncrements);
    EXPECT_EQ(stored(), std::to_string(acknowledged.load()))
        << "acknowledged compared puts were lost: two writers both matched the same value";
}

}  // namespace
}  // namespace tokend::conformance
