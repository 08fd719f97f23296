#include "core/flow_state.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

TEST(FlowState, ReadsTheOriginalsFlowState) {
    // The original's FlowState under "flows-{flow_id}".
    auto flow = flow_state_from_json(R"({"user_id": "u1", "created": "2026-11-28T10:00:00.654321+00:00"})");
    ASSERT_TRUE(flow) << flow.error();
    EXPECT_EQ(flow->user_id, "u1");
    EXPECT_EQ(format_iso8601(flow->created), "2026-11-28T10:00:00.654321+00:00");
    EXPECT_FALSE(flow->code_verifier);
    EXPECT_EQ(to_stored_text(*flow), R"({"user_id":"u1","created":"2026-11-28T10:00:00.654321+00:00"})");
}

TEST(FlowState, KeepsThePkceVerifier) {
    FlowState flow{"u1", *parse_iso8601("2026-11-28T10:00:00Z"), Secret("verifier"), Json::object()};
    auto back = flow_state_from_json(to_stored_text(flow));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, flow);
}

TEST(FlowState, ExpiresAtItsTtl) {
    FlowState flow{"u1", *parse_iso8601("2026-11-28T10:00:00Z"), std::nullopt, Json::object()};
    EXPECT_FALSE(flow.expired(flow.created + seconds{299}, seconds{300}));
    EXPECT_TRUE(flow.expired(flow.created + seconds{300}, seconds{300}));
}

TEST(FlowState, RejectsMalformedData) {
    for (const char* text : {"", "{}", "[]", R"({"user_id": "u"})", R"({"user_id": 1, "created": "2026-11-28T10:00:00Z"})",
                             R"({"user_id": "u", "created": "yesterday"})",
                             R"({"user_id": "u", "created": "2026-11-28T10:00:00Z", "code_verifier": 3})"}) {
        EXPECT_FALSE(flow_state_from_json(text)) << text;
    }
}

TEST(FlowLogId, IsTheFirstEightHexDigitsOfSha256) {
    EXPECT_EQ(flow_log_id("abc"), "ba7816bf");  // FIPS 180-2's example
    EXPECT_EQ(flow_log_id("dqEHkBPCYf2nrdTbJfxgI2XKhyGOKIRp").size(), 8u);
    EXPECT_EQ(flow_log_id("a\nforged line").find('\n'), std::string::npos);
    EXPECT_NE(flow_log_id("F1"), flow_log_id("F2"));
}

}  // namespace
}  // namespace tokend
