#include "core/flow_sweep.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

const Timestamp kNow = *parse_iso8601("2026-11-28T10:00:00Z");

TEST(FlowSweep, RunsAtMostOncePerIntervalUnlessForced) {
    EXPECT_TRUE(sweep_due(std::nullopt, kNow, seconds{900}, false));
    EXPECT_FALSE(sweep_due(kNow - seconds{899}, kNow, seconds{900}, false));
    EXPECT_TRUE(sweep_due(kNow - seconds{899}, kNow, seconds{900}, true));
    EXPECT_TRUE(sweep_due(kNow - seconds{900}, kNow, seconds{900}, false));
    EXPECT_TRUE(sweep_due(kNow + hours{1}, kNow, seconds{900}, false));  // clock went back
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
