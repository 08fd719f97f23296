#include "core/redirect_flow.h"
#include "core/pkce.h"
#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;
using Kind = RedirectFlow::Step::Kind;

class RedirectFlowTest : public testing::Test {
protected:
    RedirectFlowTest() {
        oauth_.client_id = "C123";
        oauth_.client_secret = Secret("CLIENT-SECRET");
        oauth_.redirect_url = "http://127.0.0.1:6001/redirect";
        oauth_.token_service = "http://127.0.0.1:9/v1/access_token";
        oauth_.api_base = "http://127.0.0.1:9/v1";
    }

    std::string stored_flow(const std::string& user, Timestamp created) {
        FlowState flow{user, created, Secret("VERIFIER"), Json::object()};
        return to_stored_text(flow);
    }

    // Runs a flow up to the code exchange.
    RedirectFlow::Step to_exchange(RedirectFlow& flow) {
        auto step = flow.begin("code=THE-CODE&state=F1");
        EXPECT_EQ(step.kind, Kind::take_flow);
        EXPECT_EQ(step.flow_id, "F1");
        return flow.on_flow_taken(TakeOutcome::taken, stored_flow("U1", now_ - seconds{10}), now_);
    }

    const std::string token_answer_ =
        R"({"access_token":"NEW-AT","expires_in":1209600,"refresh_token":"NEW-RT",)"
        R"("refresh_token_expires_in":7776000,"token_type":"Bearer","scope":"spark:all"})";
    OAuthSettings oauth_;
    FlowSettings flows_;
    MessageTexts texts_;
    Timestamp now_ = *parse_iso8601("2026-11-28T10:00:00Z");
};

TEST_F(RedirectFlowTest, HappyPathStoresAndTellsTheUser) {
    RedirectFlow flow(oauth_, flows_, texts_);
    auto step = to_exchange(flow);
    ASSERT_EQ(step.kind, Kind::http);
    EXPECT_EQ(step.http.method, "POST");
    EXPECT_EQ(step.http.url, "http://127.0.0.1:9/v1/access_token");
    EXPECT_FALSE(step.http.retry_allowed);
    auto form = parse_query(step.http.body.reveal(), {});
    ASSERT_TRUE(form);
    EXPECT_EQ(*form, (FormFields{{"grant_type", "authorization_code"},
                                 {"client_id", "C123"},
                                 {"client_secret", "CLIENT-SECRET"},
                                 {"code", "THE-CODE"},
                                 {"redirect_uri", "http://127.0.0.1:6001/redirect"},
                                 {"code_verifier", "VERIFIER"}}));
    // The secret travels only in the body, never in the URL.
    EXPECT_EQ(step.http.url.find("SECRET"), std::string::npos);

    step = flow.on_http_response(200, token_answer_, now_);
    ASSERT_EQ(step.kind, Kind::http);
    EXPECT_EQ(step.http.method, "GET");
    EXPECT_EQ(step.http.url, "http://127.0.0.1:9/v1/people/me");
    EXPECT_EQ(step.http.bearer->reveal(), "NEW-AT");
    EXPECT_TRUE(step.http.retry_allowed);

    step = flow.on_http_response(200, R"({"id":"U1","emails":["u1@example.com"]})", now_);
    ASSERT_EQ(step.kind, Kind::store);
    EXPECT_EQ(step.context.user_id, "U1");
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "NEW-AT");
    EXPECT_EQ(*step.context.tokens.expires_at, now_ + days{14});

    step = flow.on_stored(true, "");
    ASSERT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::authenticated);
    EXPECT_EQ(step.page.status, 200);
    EXPECT_EQ(step.page.title, "Authenticated");
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->to_person_id, "U1");
    EXPECT_NE(step.message->markdown.find("2026-12-12T10:00:00+00:00"), std::string::npos) << step.message->markdown;
}

TEST_F(RedirectFlowTest, MissingOrRepeatedParametersAreBadRequests) {
    for (const char* query : {"", "code=x", "state=y", "code=&state=y", "code=a&state=b&state=c",
                              "code=a&code=b&state=c", "code=%zz&state=s"}) {
        RedirectFlow flow(oauth_, flows_, texts_);
        auto step = flow.begin(query);
        EXPECT_EQ(step.kind, Kind::finish) << query;
        EXPECT_EQ(step.outcome, RedirectOutcome::bad_request) << query;
        EXPECT_EQ(step.page.status, 400);
        EXPECT_FALSE(step.message);
    }
}

TEST_F(RedirectFlowTest, AMalformedStateIsUnknownWithoutAStoreLookup) {
    for (const char* query : {"code=c&state=%3Cscript%3E", "code=c&state=a%0Ab", "code=c&state=a.b",
                              "code=c&state=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
        RedirectFlow flow(oauth_, flows_, texts_);
        auto step = flow.begin(query);
        EXPECT_EQ(step.kind, Kind::finish) << query;
        EXPECT_EQ(step.outcome, RedirectOutcome::unknown_flow) << query;
    }
    EXPECT_TRUE(plausible_flow_id("0b3f1a52-5b8e-4c1e-9d0a-3f2b1c4d5e6f"));  // the original's UUIDs
    EXPECT_TRUE(plausible_flow_id("M8pGhUZp78pLo46pHgRhB3R1pCFNWYYQ"));
}

TEST_F(RedirectFlowTest, UnknownFlow) {
    RedirectFlow flow(oauth_, flows_, texts_);
    flow.begin("code=c&state=nope");
    auto step = flow.on_flow_taken(TakeOutcome::absent, "", now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::unknown_flow);
    EXPECT_EQ(step.page.status, 404);
    EXPECT_FALSE(step.message);
}

TEST_F(RedirectFlowTest, UnreadableStoredFlowIsUnknown) {
    RedirectFlow flow(oauth_, flows_, texts_);
    flow.begin("code=c&state=F1");
    EXPECT_EQ(flow.on_flow_taken(TakeOutcome::taken, "{garbage", now_).outcome, RedirectOutcome::unknown_flow);
}

TEST_F(RedirectFlowTest, StoreFailureWhileTaking) {
    RedirectFlow flow(oauth_, flows_, texts_);
    flow.begin("code=c&state=F1");
    auto step = flow.on_flow_taken(TakeOutcome::failed, "", now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::store_failed);
    EXPECT_EQ(step.page.status, 503);
}

TEST_F(RedirectFlowTest, ExpiredFlowIsRefusedEvenBeforeGarbageCollection) {
    RedirectFlow flow(oauth_, flows_, texts_);
    flow.begin("code=c&state=F1");
    auto step = flow.on_flow_taken(TakeOutcome::taken, stored_flow("U1", now_ - seconds{300}), now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::expired_flow);
    EXPECT_EQ(step.page.status, 410);
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->to_person_id, "U1");
}

TEST_F(RedirectFlowTest, DeniedConsentConsumesTheFlowAndTellsTheUser) {
    RedirectFlow flow(oauth_, flows_, texts_);
    auto step = flow.begin("error=access_denied&error_description=The+user+said+no&state=F1");
    ASSERT_EQ(step.kind, Kind::take_flow);
    step = flow.on_flow_taken(TakeOutcome::taken, stored_flow("U1", now_), now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::denied);
    EXPECT_EQ(step.page.status, 403);
    EXPECT_NE(step.page.message.find("You declined"), std::string::npos);
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->markdown, texts_.denied);
}

TEST_F(RedirectFlowTest, OtherProviderErrorsAreNamedOnlyWhenKnown) {
    RedirectFlow flow(oauth_, flows_, texts_);
    flow.begin("error=invalid_scope&state=F1");
    auto step = flow.on_flow_taken(TakeOutcome::taken, stored_flow("U1", now_), now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::denied);
    EXPECT_NE(step.page.message.find("(invalid_scope)"), std::string::npos);
    EXPECT_NE(step.message->markdown.find("invalid_scope"), std::string::npos);

    RedirectFlow other(oauth_, flows_, texts_);
    other.begin("error=%3Cscript%3Ealert(1)%3C/script%3E&state=F1");
    step = other.on_flow_taken(TakeOutcome::taken, stored_flow("U1", now_), now_);
    EXPECT_EQ(step.page.message.find("script"), std::string::npos);
    EXPECT_NE(step.page.message.find("unknown_error"), std::string::npos);
}

TEST_F(RedirectFlowTest, ErrorWithoutStateTellsNobody) {
    RedirectFlow flow(oauth_, flows_, texts_);
    auto step = flow.begin("error=access_denied");
    EXPECT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::denied);
    EXPECT_FALSE(step.message);
}

TEST_F(RedirectFlowTest, TokenEndpointFailuresStoreNothing) {
    for (auto [status, body] : std::vector<std::pair<int, std::string>>{
             {0, ""}, {500, "oops"}, {400, R"({"error":"invalid_grant"})"}, {429, ""},
             {200, "not json"}, {200, R"({"expires_in":10})"}, {200, R"({"access_token":"A","expires_in":-5})"}}) {
        RedirectFlow flow(oauth_, flows_, texts_);
        to_exchange(flow);
        auto step = flow.on_http_response(status, body, now_);
        EXPECT_EQ(step.kind, Kind::finish) << status << " " << body;
        EXPECT_EQ(step.outcome, RedirectOutcome::provider_error) << body;
        EXPECT_EQ(step.page.status, 502);
        ASSERT_TRUE(step.message);
        EXPECT_EQ(step.message->to_person_id, "U1");
    }
}

TEST_F(RedirectFlowTest, InvalidGrantIsNamedInTheLogDetail) {
    RedirectFlow flow(oauth_, flows_, texts_);
    to_exchange(flow);
    auto step = flow.on_http_response(400, R"({"error":"invalid_grant","error_description":"CODE-XYZ used"})", now_);
    EXPECT_EQ(step.detail.rfind("code exchange failed: HTTP 400 (invalid_grant); likely causes: ", 0), 0u) << step.detail;
    for (const char* cause : {"redirect_url", "PKCE", "already used or has expired", "clock"}) {
        EXPECT_NE(step.detail.find(cause), std::string::npos) << cause;
    }
    EXPECT_EQ(step.detail.find("CODE-XYZ"), std::string::npos) << "the provider's description may quote the code";
}

TEST_F(RedirectFlowTest, IdentityFailuresStoreNothing) {
    for (auto [status, body] : std::vector<std::pair<int, std::string>>{
             {0, ""}, {401, ""}, {503, ""}, {200, "garbage"}, {200, R"({"id": 5})"}, {200, "[]"}}) {
        RedirectFlow flow(oauth_, flows_, texts_);
        to_exchange(flow);
        flow.on_http_response(200, token_answer_, now_);
        auto step = flow.on_http_response(status, body, now_);
        EXPECT_EQ(step.kind, Kind::finish);
        EXPECT_EQ(step.outcome, RedirectOutcome::provider_error) << status << " " << body;
    }
}

TEST_F(RedirectFlowTest, WrongUserStoresNothingAndTellsTheFlowsUser) {
    RedirectFlow flow(oauth_, flows_, texts_);
    to_exchange(flow);
    flow.on_http_response(200, token_answer_, now_);
    auto step = flow.on_http_response(200, R"({"id":"U2","emails":["mallory@example.com"]})", now_);
    EXPECT_EQ(step.kind, Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::wrong_user);
    EXPECT_EQ(step.page.status, 403);
    EXPECT_NE(step.page.message.find("mallory@example.com"), std::string::npos);
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->to_person_id, "U1");
    EXPECT_EQ(step.message->markdown.rfind("tokens for wrong user: mallory@example.com", 0), 0u);
}

TEST_F(RedirectFlowTest, WrongUsersEmailIsEscapedInTheMarkdownMessage) {
    RedirectFlow flow(oauth_, flows_, texts_);
    to_exchange(flow);
    flow.on_http_response(200, token_answer_, now_);
    auto step = flow.on_http_response(
        200, R"({"id":"U2","emails":["[verify here](https://evil.example/)\n# **urgent**"]})", now_);
    EXPECT_EQ(step.outcome, RedirectOutcome::wrong_user);
    ASSERT_TRUE(step.message);
    EXPECT_EQ(step.message->markdown.rfind(
                  "tokens for wrong user: \\[verify here\\]\\(https\\://evil.example/\\) \\# \\*\\*urgent\\*\\*", 0),
              0u)
        << step.message->markdown;
    EXPECT_EQ(step.message->markdown.find('\n'), std::string::npos);
    // The page is HTML and escapes for itself: it names the address as it came.
    EXPECT_NE(step.page.message.find("[verify here](https://evil.example/)"), std::string::npos);
}

TEST_F(RedirectFlowTest, StoreFailureAfterExchange) {
    RedirectFlow flow(oauth_, flows_, texts_);
    to_exchange(flow);
    flow.on_http_response(200, token_answer_, now_);
    flow.on_http_response(200, R"({"id":"U1"})", now_);
    auto step = flow.on_stored(false, "unavailable: disk full");
    EXPECT_EQ(step.outcome, RedirectOutcome::store_failed);
    EXPECT_EQ(step.detail, "storing the context failed: unavailable: disk full");
}

TEST_F(RedirectFlowTest, ProcessRedirectEntryPoint) {
    RedirectFlow flow(oauth_, flows_, texts_);
    auto step = flow.begin("F9", Secret("C"));
    EXPECT_EQ(step.kind, Kind::take_flow);
    EXPECT_EQ(step.flow_id, "F9");
    EXPECT_EQ(RedirectFlow(oauth_, flows_, texts_).begin("", Secret("C")).outcome, RedirectOutcome::bad_request);
}

TEST_F(RedirectFlowTest, NoSecretInAnyDetailOrPage) {
    // Walk every failure path and check that no secret leaks into what is logged or shown.
    std::vector<RedirectFlow::Step> finals;
    {
        RedirectFlow flow(oauth_, flows_, texts_);
        to_exchange(flow);
        finals.push_back(flow.on_http_response(400, R"({"error":"invalid_grant","code":"THE-CODE"})", now_));
    }
    {
        RedirectFlow flow(oauth_, flows_, texts_);
        to_exchange(flow);
        flow.on_http_response(200, token_answer_, now_);
        finals.push_back(flow.on_http_response(200, R"({"id":"U2"})", now_));
    }
    {
        RedirectFlow flow(oauth_, flows_, texts_);
        to_exchange(flow);
        flow.on_http_response(200, token_answer_, now_);
        flow.on_http_response(200, R"({"id":"U1"})", now_);
        finals.push_back(flow.on_stored(true, ""));
    }
    for (const auto& step : finals) {
        const std::string everything = step.detail + render_html(step.page) +
                                       (step.message ? step.message->markdown : std::string());
        for (const char* secret : {"THE-CODE", "CLIENT-SECRET", "VERIFIER", "NEW-AT", "NEW-RT"}) {
            EXPECT_EQ(everything.find(secret), std::string::npos) << secret << " in " << everything;
        }
    }
}

TEST(HtmlPage, EscapesEverything) {
    const std::string html = render_html({200, "<b>T</b>", "a & \"b\" <script>'x'</script>"});
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;&#39;x&#39;&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(html.find("<title>&lt;b&gt;T&lt;/b&gt;</title>"), std::string::npos);
    bool no_store = false, no_referrer = false;
    for (const auto& [name, value] : html_page_headers()) {
        no_store |= name == "Cache-Control" && value == "no-store";
        no_referrer |= name == "Referrer-Policy" && value == "no-referrer";
    }
    EXPECT_TRUE(no_store);
    EXPECT_TRUE(no_referrer);
}

}  // namespace
}  // namespace tokend
