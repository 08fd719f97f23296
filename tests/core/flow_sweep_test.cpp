#include "core/flow_sweep.h"

#include <gtest/gtest.h>

#include <vector>

namespace tokend {
namespace {

using namespace std::chrono;

const Timestamp kNow = *parse_iso8601("2026-11-28T10:00:00Z");

TEST(FlowSweep, ACheckRunsAtMostOncePerIntervalAForcedSweepAlways) {
    EXPECT_TRUE(sweep_due(SweepCause::check, std::nullopt, kNow, seconds{900}));
    EXPECT_FALSE(sweep_due(SweepCause::check, kNow - seconds{899}, kNow, seconds{900}));
    EXPECT_TRUE(sweep_due(SweepCause::forced, kNow - seconds{899}, kNow, seconds{900}));
    EXPECT_TRUE(sweep_due(SweepCause::check, kNow - seconds{900}, kNow, seconds{900}));
    EXPECT_TRUE(sweep_due(SweepCause::check, kNow + hours{1}, kNow, seconds{900}));  // clock went back
}

// The timer's ticks, an interval apart, with a start_flow check between two of
// them: every tick sweeps, so the gap between the timer's sweeps is the interval
// (when the check's sweep moved "the last sweep", the next tick was skipped and
// the gap became twice the interval), and the check still does not sweep again
// within an interval of the last sweep.
TEST(FlowSweep, EveryTickSweepsWhateverRanBetween) {
    const seconds interval{60};
    std::optional<Timestamp> last;
    std::vector<Timestamp> swept;
    const auto ask = [&](SweepCause cause, Timestamp now) {
        if (!sweep_due(cause, last, now, interval)) return false;
        last = now;
        swept.push_back(now);
        return true;
    };
    const Timestamp start = kNow;
    EXPECT_TRUE(ask(SweepCause::check, start - seconds{30}));  // the first flow, before any tick
    for (int tick = 1; tick <= 5; ++tick) {
        // The loop's timer fires a little late or, read against the wall clock,
        // a little early; the tick is due either way.
        const Timestamp at = start + interval * tick + milliseconds{tick % 2 == 0 ? -3 : 2};
        EXPECT_TRUE(ask(SweepCause::tick, at)) << "tick " << tick;
        EXPECT_FALSE(ask(SweepCause::check, at + seconds{30})) << "a check half an interval after tick " << tick;
    }
    ASSERT_EQ(swept.size(), 6u);
    for (size_t i = 2; i < swept.size(); ++i) {
        EXPECT_LE(swept[i] - swept[i - 1], interval + milliseconds{5}) << "between sweeps " << i - 1 << " and " << i;
    }
    // A check once a whole interval passed without a sweep (the timer stopped
    // by a reload, a tick skipped while a slow sweep ran) sweeps.
    EXPECT_TRUE(ask(SweepCause::check, swept.back() + interval));
}

// The lease is taken on the executor, a few milliseconds after the tick, and
// those few milliseconds vary; a lease as long as the interval could still be
// held at the holder's next tick, which then skipped: the gap on a store with
// leases was twice the interval.
TEST(FlowSweep, TheLeaseLapsesBeforeTheHoldersNextTick) {
    EXPECT_EQ(sweep_lease_ttl(seconds{900}), seconds{899});
    EXPECT_EQ(sweep_lease_ttl(seconds{60}), seconds{59});
    EXPECT_EQ(sweep_lease_ttl(seconds{10}), milliseconds{9500});
    EXPECT_EQ(sweep_lease_ttl(seconds{1}), milliseconds{950});
    const seconds interval{60};
    const Timestamp tick = kNow;
    const Timestamp taken = tick + milliseconds{40};           // a busy executor at this tick
    const Timestamp next = tick + interval + milliseconds{1};  // an idle one at the next
    EXPECT_LE(taken + sweep_lease_ttl(interval), next);
    EXPECT_GT(taken + interval, next);  // the old lease, as long as the interval, was still held
}

TEST(FlowSweep, DeletesExpiredAndUnreadableFlowsOnly) {
    const std::string fresh = R"({"user_id":"u1","created":"2026-11-28T09:55:01+00:00"})";
    const std::string old = R"({"user_id":"u2","created":"2026-11-28T09:55:00+00:00"})";
    EXPECT_FALSE(sweep_decision("f1", fresh, kNow, seconds{300}));
    auto expired = sweep_decision("f2", old, kNow, seconds{300});
    ASSERT_TRUE(expired);
    EXPECT_EQ(expired->flow_id, "f2");
    EXPECT_EQ(expired->user_id, "u2");
    EXPECT_EQ(expired->reason, "expired");
    EXPECT_EQ(format_iso8601(*expired->created), "2026-11-28T09:55:00+00:00");
    for (const char* garbage : {"", "{", R"({"user_id":"u3"})", "[1,2]"}) {
        auto unreadable = sweep_decision("f3", garbage, kNow, seconds{300});
        ASSERT_TRUE(unreadable) << garbage;
        EXPECT_EQ(unreadable->reason, "unreadable");
        EXPECT_EQ(unreadable->user_id, "");
    }
}

}  // namespace
}  // namespace tokend
