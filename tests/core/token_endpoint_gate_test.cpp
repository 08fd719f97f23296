#include "core/token_endpoint_gate.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

Timestamp t0() { return Timestamp{sys_days{year{2026} / December / 1}}; }

TEST(TokenEndpointGateTest, CapsConcurrentRequests) {
    TokenEndpointGate gate({2, 0.0, 1.0}, t0());  // no rate limit
    EXPECT_TRUE(gate.try_start(t0()));
    EXPECT_TRUE(gate.try_start(t0()));
    EXPECT_FALSE(gate.try_start(t0()));
    EXPECT_FALSE(gate.rate_ready_at(t0()));  // a finish is what to wait for
    gate.finish();
    EXPECT_TRUE(gate.try_start(t0()));
    EXPECT_EQ(gate.in_flight(), 2u);
}

TEST(TokenEndpointGateTest, RateLimitsWithABurst) {
    TokenEndpointGate gate({100, 2.0, 3.0}, t0());  // 2/s, bursts of 3
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(gate.try_start(t0()));
        gate.finish();
    }
    EXPECT_FALSE(gate.try_start(t0()));
    EXPECT_EQ(*gate.rate_ready_at(t0()), t0() + milliseconds(500));
    EXPECT_FALSE(gate.try_start(t0() + milliseconds(499)));
    EXPECT_TRUE(gate.try_start(t0() + milliseconds(500)));
    // A long idle spell refills only up to the burst.
    int started = 0;
    while (gate.try_start(t0() + seconds(3600))) ++started;
    EXPECT_EQ(started, 3);
}

TEST(TokenEndpointGateTest, AClockSteppingBackDoesNotRefill) {
    TokenEndpointGate gate({100, 1.0, 1.0}, t0());
    EXPECT_TRUE(gate.try_start(t0()));
    EXPECT_FALSE(gate.try_start(t0() - seconds(100)));
    EXPECT_FALSE(gate.try_start(t0() + milliseconds(500)));
    EXPECT_TRUE(gate.try_start(t0() + seconds(1)));
}

}  // namespace
}  // namespace tokend
