// TOKEND_STORE_CAP_LOCK: leases with fencing tokens. tokend processes that share a
// store use them so that one grant is refreshed by one process at a time; the
// fence makes a holder whose lease lapsed (a stalled process) unable to write.
#include "fixture.h"

namespace tokend::conformance {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kLongTtl = 30s;    // never lapses during a test
constexpr auto kShortTtl = 200ms; // lapses within a test
constexpr auto kLapseDeadline = 5s;

class Lock : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        if (!has(TOKEND_STORE_CAP_LOCK)) GTEST_SKIP() << "the plugin does not declare TOKEND_STORE_CAP_LOCK";
        ASSERT_TRUE(open(&a_));
        std::string skip_reason;
        ASSERT_NO_FATAL_FAILURE(open_second(*a_, &b_, &skip_reason));
        ASSERT_TRUE(b_) << skip_reason;
        lease_key_ = "user-" + unique();
    }
    void TearDown() override {
        b_.reset();
        a_.reset();
        ConformanceTest::TearDown();
    }

    // Acquires on `store`, polling until the current lease lapses. Fails if it
    // took longer than the deadline, or happened before `not_before`.
    void acquire_after_lapse(Store& store, Clock::time_point not_before, uint64_t* fence) {
        StoreStatus last;
        const bool acquired = eventually(
            [&] {
                last = store.lock_acquire(Ns::user, lease_key_, kLongTtl, fence);
                return last.code != StoreCode::conflict;
            },
            kLapseDeadline);
        ASSERT_TRUE(acquired) << "the lease did not lapse within " << kLapseDeadline.count() << " s";
        ASSERT_STORE(ok, last);
        // Allow a little for backends whose clock ticks coarsely (e.g. a server's).
        EXPECT_GE(Clock::now(), not_before - 20ms) << "another owner got the lease before it lapsed";
    }

    std::unique_ptr<Store> a_, b_;
    std::string lease_key_;
};

TEST_F(Lock, AHeldLeaseIsExclusive) {
    uint64_t fence = 0, other = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &fence));
    EXPECT_STORE(conflict, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other))
        << "a lease is not re-entrant: the same instance must get CONFLICT";
    EXPECT_STORE(conflict, b_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other));
    // Leases are per (namespace, key).
    EXPECT_STORE(ok, b_->lock_acquire(Ns::user, lease_key_ + "-other", kLongTtl, &other));
    EXPECT_STORE(ok, b_->lock_acquire(Ns::flow, lease_key_, kLongTtl, &other));
}

// A lease lives beside the value under the same (ns, key); it is not one.
// (tokend's flow sweep holds the lease (flow, "flow-maintenance"): it must not
// appear as a flow.)
TEST_F(Lock, ALeaseIsNotAValue) {
    uint64_t fence = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::flow, lease_key_, kLongTtl, &fence));
    std::string read;
    EXPECT_STORE(not_found, b_->get(Ns::flow, lease_key_, &read));
    StorePage page;
    ASSERT_STORE(ok, b_->list(Ns::flow, "", 100, &page));
    EXPECT_TRUE(page.keys.empty()) << "a lease shows up as key '" << page.keys.front() << "'";

    ASSERT_STORE(ok, a_->put_fenced(Ns::flow, lease_key_, "value", fence));
    ASSERT_STORE(ok, a_->del(Ns::flow, lease_key_));
    uint64_t other = 0;
    EXPECT_STORE(conflict, b_->lock_acquire(Ns::flow, lease_key_, kLongTtl, &other))
        << "deleting the value released the lease";
    ASSERT_STORE(ok, a_->lock_release(Ns::flow, lease_key_, fence));
    EXPECT_STORE(not_found, b_->get(Ns::flow, lease_key_, &read)) << "releasing the lease wrote a value";
}

TEST_F(Lock, ReleaseByAWrongFenceDoesNothing) {
    uint64_t fence = 0, other = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &fence));
    for (uint64_t wrong : {fence + 1, fence + 1000, fence ^ (uint64_t{1} << 63)}) {
        EXPECT_STORE(ok, b_->lock_release(Ns::user, lease_key_, wrong));
        EXPECT_STORE(ok, a_->lock_release(Ns::user, lease_key_, wrong));
        EXPECT_STORE(conflict, b_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other))
            << "release with fence " << wrong << " freed the lease of fence " << fence;
    }
    // Releasing the same key in the other namespace does not free it either.
    EXPECT_STORE(ok, a_->lock_release(Ns::flow, lease_key_, fence));
    EXPECT_STORE(conflict, b_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other));
}

TEST_F(Lock, ReleaseByTheOwnerLetsAnotherInWithAGreaterFence) {
    uint64_t first = 0, second = 0, third = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &first));
    ASSERT_STORE(ok, a_->lock_release(Ns::user, lease_key_, first));
    ASSERT_STORE(ok, b_->lock_acquire(Ns::user, lease_key_, kLongTtl, &second));
    EXPECT_GT(second, first);
    EXPECT_STORE(ok, b_->lock_release(Ns::user, lease_key_, second));
    EXPECT_STORE(ok, b_->lock_release(Ns::user, lease_key_, second)) << "a second release is OK too";
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &third));
    EXPECT_GT(third, second);
}

TEST_F(Lock, FencesKeepGrowingOverManyHolders) {
    uint64_t previous = 0;
    for (int round = 0; round < 20; ++round) {
        Store& holder = round % 2 == 0 ? *a_ : *b_;
        uint64_t fence = 0;
        ASSERT_STORE(ok, holder.lock_acquire(Ns::user, lease_key_, kLongTtl, &fence));
        if (round > 0) {
            EXPECT_GT(fence, previous) << "round " << round;
        }
        previous = fence;
        ASSERT_STORE(ok, holder.lock_release(Ns::user, lease_key_, fence));
    }
}

TEST_F(Lock, ALeaseLapsesAfterItsTtl) {
    const auto before = Clock::now();
    uint64_t first = 0, other = 0, second = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kShortTtl, &first));
    const StoreStatus early = b_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other);
    if (Clock::now() < before + kShortTtl) {
        EXPECT_STORE(conflict, early) << "the lease is free right after it was taken";
    }
    if (early.ok()) GTEST_SKIP() << "this machine is too slow to test a " << kShortTtl.count() << " ms lease";
    ASSERT_NO_FATAL_FAILURE(acquire_after_lapse(*b_, before + kShortTtl, &second));
    EXPECT_GT(second, first);
}

// The reason fences exist: A's lease lapses (A stalled), B takes over, and A's late
// write must be refused while B's goes through.
TEST_F(Lock, ALapsedHolderIsFencedOff) {
    const std::string value_a = secret_value("written by A"), value_b = secret_value("written by B");
    const auto before = Clock::now();
    uint64_t fence_a = 0, fence_b = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kShortTtl, &fence_a));
    const StoreStatus written = a_->put_fenced(Ns::user, lease_key_, value_a, fence_a);
    if (!written.ok() && Clock::now() >= before + kShortTtl) {
        GTEST_SKIP() << "this machine is too slow to test a " << kShortTtl.count() << " ms lease";
    }
    ASSERT_STORE(ok, written) << "put_fenced with the current fence";
    std::string read;
    ASSERT_STORE(ok, b_->get(Ns::user, lease_key_, &read));
    EXPECT_EQ(read, value_a);

    ASSERT_NO_FATAL_FAILURE(acquire_after_lapse(*b_, before + kShortTtl, &fence_b));
    ASSERT_GT(fence_b, fence_a);

    EXPECT_STORE(conflict, a_->put_fenced(Ns::user, lease_key_, secret_value("late A"), fence_a))
        << "a write with the lapsed holder's fence must be refused";
    ASSERT_STORE(ok, b_->get(Ns::user, lease_key_, &read));
    EXPECT_EQ(read, value_a) << "the refused put_fenced wrote anyway";

    // A's late release must not free B's lease.
    EXPECT_STORE(ok, a_->lock_release(Ns::user, lease_key_, fence_a));
    uint64_t other = 0;
    EXPECT_STORE(conflict, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &other));

    EXPECT_STORE(ok, b_->put_fenced(Ns::user, lease_key_, value_b, fence_b));
    ASSERT_STORE(ok, a_->get(Ns::user, lease_key_, &read));
    EXPECT_EQ(read, value_b);
}

TEST_F(Lock, PutFencedWithoutTheLeaseWritesNothing) {
    std::string read;
    EXPECT_STORE(conflict, a_->put_fenced(Ns::user, lease_key_, secret_value("no lease"), 1));
    EXPECT_STORE(not_found, a_->get(Ns::user, lease_key_, &read));

    uint64_t fence = 0;
    ASSERT_STORE(ok, a_->lock_acquire(Ns::user, lease_key_, kLongTtl, &fence));
    EXPECT_STORE(conflict, a_->put_fenced(Ns::user, lease_key_, secret_value("future"), fence + 1))
        << "a fence that was never issued must not write";
    EXPECT_STORE(conflict, a_->put_fenced(Ns::flow, lease_key_, secret_value("other ns"), fence))
        << "the lease covers one namespace only";
    EXPECT_STORE(not_found, a_->get(Ns::user, lease_key_, &read));
    EXPECT_STORE(not_found, a_->get(Ns::flow, lease_key_, &read));

    ASSERT_STORE(ok, a_->lock_release(Ns::user, lease_key_, fence));
    EXPECT_STORE(conflict, a_->put_fenced(Ns::user, lease_key_, secret_value("released"), fence))
        << "a released lease no longer allows writes";
    EXPECT_STORE(not_found, a_->get(Ns::user, lease_key_, &read));
}

}  // namespace
}  // namespace tokend::conformance
