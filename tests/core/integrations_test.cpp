#include "core/integrations.h"
#include "core/redirect_flow.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using Kind = RedirectFlow::Step::Kind;

Integration named(const std::string& name, const std::string& base) {
    Integration integration;
    integration.name = name;
    integration.configured = true;
    integration.oauth.client_id = name + "-client";
    integration.oauth.client_secret = Secret(name + "-secret");
    integration.oauth.redirect_url = "http://127.0.0.1:6001/redirect";
    integration.oauth.token_service = base + "/v1/access_token";
    integration.oauth.api_base = base + "/v1";
    integration.messages.authenticated = name + " done";
    return integration;
}

IntegrationSet two() {
    return IntegrationSet({named("webex", "http://127.0.0.1:1"), named("github", "http://127.0.0.1:2")});
}

TEST(Integrations, TheDefaultKeepsTheUserIdAsItsKeyTheOthersArePrefixed) {
    const IntegrationSet set = two();
    EXPECT_EQ(set.key_of(set.default_integration(), "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x"),
              "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x");
    EXPECT_EQ(set.key_of(*set.find("github"), "123"), "github/123");
    EXPECT_EQ(set.find("nope"), nullptr);
    EXPECT_TRUE(set.several());
}

TEST(Integrations, AKeyNamesItsIntegration) {
    const IntegrationSet set = two();
    UserKeyOwner owner = set.owner_of("github/123");
    EXPECT_EQ(owner.integration->name, "github");
    EXPECT_EQ(owner.user_id, "123");
    // Anything else is the default's, slashes and all (a base64 person id may hold one).
    for (const char* key : {"alice", "webex/alice", "unknown/alice", "github/", "/x", "a/b/c"}) {
        owner = set.owner_of(key);
        EXPECT_EQ(owner.integration, &set.default_integration()) << key;
        EXPECT_EQ(owner.user_id, key);
    }
    EXPECT_EQ(set.owner_of("github/a/b").user_id, "a/b");
}

TEST(Integrations, ADefaultUserThatReadsAsAnotherIntegrationsKeyIsAmbiguous) {
    const IntegrationSet set = two();
    EXPECT_TRUE(set.ambiguous_default_user("github/alice"));
    EXPECT_FALSE(set.ambiguous_default_user("alice"));
    EXPECT_FALSE(set.ambiguous_default_user("webex/alice"));
    const IntegrationSet one({named("default", "http://127.0.0.1:1")});
    EXPECT_FALSE(one.ambiguous_default_user("github/alice"));
    EXPECT_EQ(one.owner_of("github/alice").integration, &one.default_integration());
}

// /redirect takes the flow by its state and finishes it with the integration
// its user key names: that provider, that client, the user id in the key, its texts.
TEST(Integrations, ARedirectFlowDispatchesOnTheTakenFlowsUserKey) {
    const IntegrationSet set = two();
    const FlowSettings flows;
    const Timestamp now = *parse_iso8601("2026-12-03T10:00:00Z");
    RedirectFlow flow(set, flows);
    auto step = flow.begin("code=CODE&state=F1");
    ASSERT_EQ(step.kind, Kind::take_flow);
    FlowState state{"github/alice", now, Secret("VERIFIER"), Json::object()};
    step = flow.on_flow_taken(TakeOutcome::taken, to_stored_text(state), now);
    ASSERT_EQ(step.kind, Kind::http);
    EXPECT_EQ(step.http.url, "http://127.0.0.1:2/v1/access_token");
    EXPECT_NE(step.http.body.reveal().find("client_id=github-client"), std::string::npos);
    ASSERT_NE(flow.integration(), nullptr);
    EXPECT_EQ(flow.integration()->name, "github");

    step = flow.on_http_response(200, R"({"access_token":"AT","expires_in":3600,"refresh_token":"RT"})", now);
    ASSERT_EQ(step.kind, Kind::http);
    EXPECT_EQ(step.http.url, "http://127.0.0.1:2/v1/people/me");
    // The provider knows the user as "alice"; the context is stored under the key.
    step = flow.on_http_response(200, R"({"id":"alice","emails":["a@example.com"]})", now);
    ASSERT_EQ(step.kind, Kind::store);
    EXPECT_EQ(step.context.user_id, "github/alice");
    step = flow.on_stored(true, "");
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::authenticated);
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->to_person_id, "github/alice");  // the edge sends it through github's bot to alice
    EXPECT_EQ(step.message->markdown, "github done");
}

TEST(Integrations, TheIdentityIsCheckedAgainstTheUserIdInTheKey) {
    const IntegrationSet set = two();
    const FlowSettings flows;
    const Timestamp now = *parse_iso8601("2026-12-03T10:00:00Z");
    RedirectFlow flow(set, flows);
    flow.begin("code=CODE&state=F1");
    FlowState state{"github/alice", now, Secret("VERIFIER"), Json::object()};
    flow.on_flow_taken(TakeOutcome::taken, to_stored_text(state), now);
    flow.on_http_response(200, R"({"access_token":"AT","expires_in":3600,"refresh_token":"RT"})", now);
    // The whole key is not who the provider says: only "alice" is.
    const auto step = flow.on_http_response(200, R"({"id":"github/alice"})", now);
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::wrong_user);
}

}  // namespace
}  // namespace tokend
