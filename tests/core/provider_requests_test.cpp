// The provider profile interpreted (core/provider_requests.h) and the presets
// (core/provider_presets.h): requests built and answers read with no I/O.
#include "core/flow_start.h"
#include "core/grant_revocation.h"
#include "core/pkce.h"
#include "core/provider_presets.h"
#include "core/provider_requests.h"
#include "core/redirect_flow.h"
#include "core/refresh_attempt.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

const Timestamp kNow = *parse_iso8601("2026-12-03T10:00:00Z");

OAuthSettings settings(std::string_view preset) {
    OAuthSettings oauth;
    EXPECT_TRUE(apply_provider_preset(preset, &oauth));
    oauth.client_id = "C1";
    oauth.client_secret = Secret("S:1/+");
    oauth.scopes = {"a", "b"};
    oauth.redirect_url = "https://bot.example/redirect";
    return oauth;
}

TEST(ProviderPresets, WebexIsTheDefaultUnchanged) {
    const OAuthSettings defaults;
    OAuthSettings webex = settings("webex");
    EXPECT_EQ(webex.auth_service, defaults.auth_service);
    EXPECT_EQ(webex.token_service, defaults.token_service);
    EXPECT_EQ(webex.api_base, defaults.api_base);
    EXPECT_EQ(webex.provider, defaults.provider);
    EXPECT_EQ(defaults.provider.name, "webex");
    EXPECT_EQ(provider_url(defaults.provider.identity.url, defaults), "https://webexapis.com/v1/people/me");
    EXPECT_EQ(provider_url(defaults.provider.message.url, defaults), "https://webexapis.com/v1/messages");
    EXPECT_EQ(defaults.provider.dead_grant.errors, std::vector<std::string>{"invalid_grant"});
    EXPECT_FALSE(defaults.provider.rotating_refresh_tokens);
}

TEST(ProviderPresets, KnownNamesOnly) {
    OAuthSettings oauth;
    EXPECT_FALSE(apply_provider_preset("gitlab", &oauth));
    EXPECT_EQ(oauth.provider.name, "webex");
    EXPECT_EQ(provider_preset_names(), (std::vector<std::string_view>{"webex", "github", "microsoft", "google", "slack", "oidc"}));
    for (std::string_view name : provider_preset_names()) {
        OAuthSettings preset;
        ASSERT_TRUE(apply_provider_preset(name, &preset));
        EXPECT_EQ(preset.provider.name, name);
        if (preset.provider.discovery.enabled) continue;  // oidc: the endpoints come from the issuer's document
        EXPECT_EQ(preset.auth_service.rfind("https://", 0), 0u) << name;
        EXPECT_EQ(preset.token_service.rfind("https://", 0), 0u) << name;
    }
}

TEST(ProviderRequests, ClientSecretPostPutsTheCredentialsInTheBody) {
    const OAuthSettings oauth = settings("webex");
    const OutboundHttp request = token_request(oauth, {{"grant_type", "refresh_token"}, {"refresh_token", "R"}});
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, oauth.token_service);
    EXPECT_FALSE(request.authorization);
    EXPECT_FALSE(request.retry_allowed);
    EXPECT_EQ(*parse_query(request.body.reveal(), {}), (FormFields{{"grant_type", "refresh_token"},
                                                                   {"client_id", "C1"},
                                                                   {"client_secret", "S:1/+"},
                                                                   {"refresh_token", "R"}}));
}

TEST(ProviderRequests, ClientSecretBasicEncodesEachPartFirst) {
    OAuthSettings oauth = settings("webex");
    oauth.provider.client_auth = ClientAuth::client_secret_basic;
    const OutboundHttp request = token_request(oauth, {{"grant_type", "refresh_token"}, {"refresh_token", "R"}});
    ASSERT_TRUE(request.authorization);
    // base64("C1:S%3A1%2F%2B")
    EXPECT_EQ(request.authorization->reveal(), "Basic QzE6UyUzQTElMkYlMkI=");
    EXPECT_EQ(request.body.reveal(), "grant_type=refresh_token&refresh_token=R");
}

TEST(ProviderRequests, ScopesJoinWithTheProfilesSeparator) {
    OAuthSettings oauth = settings("webex");
    EXPECT_EQ(joined_scopes(oauth), "a b");
    oauth.provider.scope_separator = ",";
    EXPECT_EQ(joined_scopes(oauth), "a,b");
}

TEST(ProviderRequests, TokenAnswers) {
    const ProviderProfile webex;
    auto answer = read_token_answer(webex, 200, R"({"access_token":"A","expires_in":60,"refresh_token":"R"})", kNow);
    ASSERT_EQ(answer.kind, TokenEndpointAnswer::Kind::tokens);
    EXPECT_EQ(answer.tokens.access_token->reveal(), "A");
    EXPECT_EQ(*answer.tokens.expires_at, kNow + seconds{60});
    EXPECT_EQ(read_token_answer(webex, 400, R"({"error":"invalid_grant"})", kNow).kind, TokenEndpointAnswer::Kind::dead_grant);
    answer = read_token_answer(webex, 401, R"({"error":"invalid_client"})", kNow);
    EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::refused);
    EXPECT_EQ(answer.error, "invalid_client");
    EXPECT_EQ(read_token_answer(webex, 503, "<html>", kNow).kind, TokenEndpointAnswer::Kind::refused);
    EXPECT_EQ(read_token_answer(webex, 0, "", kNow).kind, TokenEndpointAnswer::Kind::refused);
    answer = read_token_answer(webex, 200, R"({"expires_in":60})", kNow);
    EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::unusable);
    EXPECT_FALSE(answer.reason.empty());
}

TEST(ProviderRequests, GitHubAnswersErrorsWith200) {
    const ProviderProfile github = settings("github").provider;
    auto answer = read_token_answer(github, 200, R"({"error":"bad_refresh_token","error_description":"x"})", kNow);
    EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::dead_grant);
    EXPECT_EQ(answer.error, "bad_refresh_token");
    answer = read_token_answer(github, 200, R"({"error":"bad_verification_code"})", kNow);
    EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::refused);
    EXPECT_EQ(answer.error, "bad_verification_code");
    // Under the webex profile the same answer is no dead grant.
    EXPECT_EQ(read_token_answer(ProviderProfile{}, 200, R"({"error":"bad_refresh_token"})", kNow).kind,
              TokenEndpointAnswer::Kind::refused);
}

TEST(ProviderRequests, DeadGrantByStatus) {
    ProviderProfile profile;
    profile.dead_grant.statuses = {401};
    EXPECT_EQ(read_token_answer(profile, 401, "", kNow).kind, TokenEndpointAnswer::Kind::dead_grant);
    EXPECT_EQ(read_token_answer(profile, 403, "", kNow).kind, TokenEndpointAnswer::Kind::refused);
}

TEST(ProviderRequests, TokensAtATokenPathOrAtTheTopLevel) {
    ProviderProfile slack_like;
    slack_like.token_path = "authed_user";
    auto answer = read_token_answer(
        slack_like, 200,
        R"({"ok":true,"access_token":"BOT","authed_user":{"id":"U1","access_token":"USER","expires_in":43200,"refresh_token":"R"}})",
        kNow);
    ASSERT_EQ(answer.kind, TokenEndpointAnswer::Kind::tokens);
    EXPECT_EQ(answer.tokens.access_token->reveal(), "USER");
    answer = read_token_answer(slack_like, 200, R"({"ok":true,"access_token":"TOP","expires_in":43200})", kNow);
    ASSERT_EQ(answer.kind, TokenEndpointAnswer::Kind::tokens);
    EXPECT_EQ(answer.tokens.access_token->reveal(), "TOP");
    EXPECT_EQ(read_token_answer(slack_like, 200, R"({"ok":false,"error":"invalid_code"})", kNow).kind,
              TokenEndpointAnswer::Kind::refused);
}

TEST(ProviderRequests, IdentityRequestAndAnswer) {
    const OAuthSettings github = settings("github");
    const OutboundHttp request = identity_request(github, Secret("AT"));
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.url, "https://api.github.com/user");
    EXPECT_EQ(request.bearer->reveal(), "AT");
    auto identity = read_identity(github.provider, 200, R"({"login":"octocat","id":583231})");
    ASSERT_TRUE(identity);
    EXPECT_EQ(identity->user_id, "583231");
    EXPECT_EQ(identity->display, "octocat");
    EXPECT_FALSE(read_identity(github.provider, 401, R"({"message":"Bad credentials"})"));
    EXPECT_FALSE(read_identity(github.provider, 0, ""));
    EXPECT_FALSE(read_identity(github.provider, 200, R"({"id":1.5})"));
    EXPECT_FALSE(read_identity(github.provider, 200, R"({"id":""})"));
    EXPECT_FALSE(read_identity(github.provider, 200, "[1]"));

    const ProviderProfile webex;
    EXPECT_FALSE(read_identity(webex, 200, R"({"id":5})")) << "Webex ids are strings";
    identity = read_identity(webex, 200, R"({"id":"P1","emails":["a@x.org","b@x.org"]})");
    ASSERT_TRUE(identity);
    EXPECT_EQ(identity->user_id, "P1");
    EXPECT_EQ(identity->display, "a@x.org");
    identity = read_identity(webex, 200, R"({"id":"P1","emails":[]})");
    ASSERT_TRUE(identity);
    EXPECT_EQ(identity->display, "");
}

TEST(ProviderRequests, JsonPaths) {
    const Json json = Json::parse(R"({"a":{"b":[10,{"c":"x"}]},"d":null})");
    EXPECT_EQ(*json_at_path(json, "a.b.0"), 10);
    EXPECT_EQ(*json_at_path(json, "a.b.1.c"), "x");
    EXPECT_EQ(json_at_path(json, "a.b.2"), nullptr);
    EXPECT_EQ(json_at_path(json, "a.b.-1"), nullptr);
    EXPECT_EQ(json_at_path(json, "a.b.x"), nullptr);
    EXPECT_EQ(json_at_path(json, "a.b."), nullptr);
    EXPECT_EQ(json_at_path(json, "d.e"), nullptr);
    EXPECT_EQ(json_at_path(json, ""), &json);
}

TEST(ProviderRequests, MessagesFollowTheTemplateOrAreNone) {
    const OAuthSettings webex = settings("webex");
    auto request = message_request(webex, Secret("BOT"), BotMessage{"P1", "hi \"there\" {user_id}"});
    ASSERT_TRUE(request);
    EXPECT_EQ(request->url, "https://webexapis.com/v1/messages");
    EXPECT_EQ(request->bearer->reveal(), "BOT");
    EXPECT_TRUE(request->retry_allowed);
    // As tokend always sent it; the text is JSON-escaped, and not expanded again.
    EXPECT_EQ(request->body.reveal(), R"({"toPersonId":"P1","markdown":"hi \"there\" {user_id}"})");

    OAuthSettings custom = settings("webex");
    custom.provider.message.url = "{api_base}/chat.postMessage";
    custom.provider.message.body = Json::parse(R"({"channel":"{user_id}","text":"{text}","blocks":[{"t":"{text}"}],"n":1})");
    request = message_request(custom, Secret("BOT"), BotMessage{"U{text}", "T"});
    ASSERT_TRUE(request);
    EXPECT_EQ(request->url, "https://webexapis.com/v1/chat.postMessage");
    EXPECT_EQ(request->body.reveal(), R"({"channel":"U{text}","text":"T","blocks":[{"t":"T"}],"n":1})");

    EXPECT_FALSE(message_request(settings("github"), Secret("BOT"), BotMessage{"1", "T"}));
}

TEST(ProviderRequests, AMessageAnswerIsJudgedByStatusAndTheProfilesOkMember) {
    using Kind = MessageVerdict::Kind;
    // Without an ok_path (Webex): the status alone.
    const MessageAnswer status_only = settings("webex").provider.message_answer;
    EXPECT_EQ(read_message_answer(status_only, 200, R"({"id":"M1"})", "").kind, Kind::sent);
    EXPECT_EQ(read_message_answer(status_only, 204, "", "").kind, Kind::sent);
    MessageVerdict verdict = read_message_answer(status_only, 403, R"({"message":"nope"})", "");
    EXPECT_EQ(verdict.kind, Kind::failed);
    EXPECT_EQ(verdict.reason, "HTTP 403");
    verdict = read_message_answer(status_only, 0, "", "127.0.0.1: timed out");
    EXPECT_EQ(verdict.kind, Kind::failed);
    EXPECT_EQ(verdict.reason, "127.0.0.1: timed out");
    EXPECT_EQ(read_message_answer(status_only, 0, "", "").reason, "no answer");

    // Slack: HTTP 200 with ok; only errors that posted nothing are retried.
    const OAuthSettings slack = settings("slack");
    const MessageAnswer& rule = slack.provider.message_answer;
    EXPECT_EQ(rule.ok_path, "ok");
    EXPECT_EQ(message_request(slack, Secret("B"), BotMessage{"U1", "T"})->message_answer, rule);
    EXPECT_EQ(read_message_answer(rule, 200, R"({"ok":true,"channel":"D1","ts":"1.2"})", "").kind, Kind::sent);
    verdict = read_message_answer(rule, 200, R"({"ok":false,"error":"channel_not_found"})", "");
    EXPECT_EQ(verdict.kind, Kind::failed);
    EXPECT_EQ(verdict.reason, "ok is not true: channel_not_found");
    for (const char* error : {"ratelimited", "service_unavailable"}) {
        EXPECT_EQ(read_message_answer(rule, 200, R"({"ok":false,"error":")" + std::string(error) + R"("})", "").kind,
                  Kind::retry) << error;
    }
    // These may have posted the message already: a retry could post it twice.
    for (const char* error : {"internal_error", "fatal_error", "invalid_auth"}) {
        EXPECT_EQ(read_message_answer(rule, 200, R"({"ok":false,"error":")" + std::string(error) + R"("})", "").kind,
                  Kind::failed) << error;
    }
    // ok must be JSON true: absent, "true", 1, no JSON at all are failures, not retried.
    for (const char* body : {R"({"channel":"D1"})", R"({"ok":"true"})", R"({"ok":1})", "<html>", "", "[true]"}) {
        EXPECT_EQ(read_message_answer(rule, 200, body, "").kind, Kind::failed) << body;
    }
    // An error that is no well-formed code is neither quoted nor matched.
    verdict = read_message_answer(rule, 200, R"({"ok":false,"error":"ratelimited xoxb-SECRET"})", "");
    EXPECT_EQ(verdict.kind, Kind::failed);
    EXPECT_EQ(verdict.reason, "ok is not true: no error code");
    // A non-2xx stays a failure whatever the body says (the sender retried 429 and 5xx already).
    EXPECT_EQ(read_message_answer(rule, 503, R"({"ok":true})", "").kind, Kind::failed);
    // A nested ok_path.
    EXPECT_EQ(read_message_answer(MessageAnswer{"result.ok", {}}, 200, R"({"result":{"ok":true}})", "").kind, Kind::sent);
}

// The state machines use the profile: GitHub's flow end to end in values.
TEST(ProviderProfiles, RedirectFlowChecksAGitHubIdentity) {
    const OAuthSettings oauth = settings("github");
    const FlowSettings flows;
    const MessageTexts texts;
    for (const auto& [login_id, outcome] : {std::pair{"583231", RedirectOutcome::authenticated},
                                            std::pair{"1", RedirectOutcome::wrong_user}}) {
        RedirectFlow flow(oauth, flows, texts);
        flow.begin("code=C&state=F1");
        const std::string stored = to_stored_text(FlowState{"583231", kNow, Secret("V"), Json::object()});
        auto step = flow.on_flow_taken(TakeOutcome::taken, stored, kNow);
        ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::http);
        EXPECT_EQ(step.http.url, "https://github.com/login/oauth/access_token");
        step = flow.on_http_response(200, R"({"access_token":"ghu_1","expires_in":28800,"refresh_token":"ghr_1",)"
                                          R"("refresh_token_expires_in":15897600,"scope":"","token_type":"bearer"})",
                                     kNow);
        ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::http);
        EXPECT_EQ(step.http.url, "https://api.github.com/user");
        step = flow.on_http_response(200, std::string(R"({"login":"octocat","id":)") + login_id + "}", kNow);
        if (outcome == RedirectOutcome::authenticated) {
            ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::store);
            EXPECT_EQ(step.context.tokens.refresh_token->reveal(), "ghr_1");
        } else {
            ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::finish);
            EXPECT_EQ(step.outcome, RedirectOutcome::wrong_user);
            EXPECT_NE(step.page.message.find("octocat"), std::string::npos);
        }
    }
}

TEST(ProviderProfiles, RedirectFlowRefusesAGitHubErrorAnsweredWith200) {
    const OAuthSettings oauth = settings("github");
    const FlowSettings flows;
    const MessageTexts texts;
    RedirectFlow flow(oauth, flows, texts);
    flow.begin("code=C&state=F1");
    flow.on_flow_taken(TakeOutcome::taken, to_stored_text(FlowState{"1", kNow, Secret("V"), Json::object()}), kNow);
    const auto step = flow.on_http_response(200, R"({"error":"bad_verification_code"})", kNow);
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::finish);
    EXPECT_EQ(step.outcome, RedirectOutcome::provider_error);
    EXPECT_NE(step.detail.find("bad_verification_code"), std::string::npos);
}

TEST(ProviderProfiles, RefreshAttemptFindsAGitHubGrantDeadAndWarnsOfAMissingRotation) {
    const OAuthSettings oauth = settings("github");
    const RefreshPolicy policy;
    UserContext context;
    context.user_id = "1";
    context.tokens.access_token = Secret("ghu_1");
    context.tokens.refresh_token = Secret("ghr_1");
    context.tokens.expires_at = kNow + seconds{10};
    {
        RefreshAttempt attempt(oauth, policy, seconds{5}, 0.5);
        auto step = attempt.begin(CachedUser{&context, 0}, nullptr, true, false, kNow);
        ASSERT_EQ(step.kind, RefreshAttempt::Step::Kind::http);
        step = attempt.on_http_response(200, R"({"error":"bad_refresh_token"})", "", "", CachedUser{&context, 0}, kNow);
        ASSERT_EQ(step.kind, RefreshAttempt::Step::Kind::write);
        EXPECT_FALSE(step.context.tokens.refresh_token);
        step = attempt.on_written(WriteResult{WriteResult::Written::stored, std::nullopt, ""}, CachedUser{&context, 0}, kNow);
        EXPECT_EQ(step.ending, RefreshEnding::reauth);
    }
    {
        RefreshAttempt attempt(oauth, policy, seconds{5}, 0.5);
        attempt.begin(CachedUser{&context, 0}, nullptr, true, false, kNow);
        const auto step = attempt.on_http_response(200, R"({"access_token":"ghu_2","expires_in":28800})", "", "",
                                                   CachedUser{&context, 0}, kNow);
        ASSERT_EQ(step.kind, RefreshAttempt::Step::Kind::write);
        EXPECT_EQ(step.context.tokens.refresh_token->reveal(), "ghr_1");
        ASSERT_EQ(step.notes.size(), 1u);
        EXPECT_NE(step.notes[0].text.find("no new refresh token"), std::string::npos);
    }
}

// Each request carries its role, the metrics' endpoint label, whatever its URL.
TEST(ProviderRequests, EachRequestNamesItsRole) {
    const OAuthSettings slack = settings("slack");
    EXPECT_EQ(token_request(slack, {{"grant_type", "refresh_token"}}).role, ProviderRole::token);
    EXPECT_EQ(identity_request(slack, Secret("A")).role, ProviderRole::identity);
    EXPECT_EQ(message_request(slack, Secret("B"), BotMessage{"U1", "T"})->role, ProviderRole::message);
    EXPECT_EQ(revocation_request(settings("google"), RevocationTarget{Secret("R"), "refresh_token"}).role,
              ProviderRole::revoke);
    EXPECT_EQ(OutboundHttp{}.role, ProviderRole::other);
    EXPECT_EQ(to_string(ProviderRole::identity), "identity");
    EXPECT_EQ(to_string(ProviderRole::discovery), "discovery");
    EXPECT_EQ(to_string(ProviderRole::other), "other");
}

// Slack: user scopes in user_scope, comma-joined; the user token under
// authed_user; every answer HTTP 200, errors ok:false (docs.slack.dev oauth.v2.access).
TEST(ProviderProfiles, SlackUserTokensEndToEndInValues) {
    const OAuthSettings oauth = settings("slack");
    const StartedFlow started =
        start_flow(oauth, FlowSettings{}, "U1", kNow, std::string(kFlowIdBytes, '\1'), std::string(kCodeVerifierBytes, '\2'), true);
    const auto query = *parse_query(started.auth_url.substr(started.auth_url.find('?') + 1), {});
    const auto param = [&](std::string_view name) -> std::optional<std::string> {
        for (const auto& [key, value] : query) {
            if (key == name) return value;
        }
        return std::nullopt;
    };
    EXPECT_EQ(started.auth_url.rfind("https://slack.com/oauth/v2/authorize?", 0), 0u);
    EXPECT_EQ(param("user_scope"), "a,b");
    EXPECT_FALSE(param("scope")) << "Slack's scope asks for a bot token";
    EXPECT_EQ(param("code_challenge_method"), "S256");

    const FlowSettings flows;  // RedirectFlow keeps references to these
    const MessageTexts texts;
    RedirectFlow flow(oauth, flows, texts);
    flow.begin("code=C&state=F1");
    auto step = flow.on_flow_taken(TakeOutcome::taken, to_stored_text(FlowState{"U1", kNow, Secret("V"), Json::object()}), kNow);
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::http);
    EXPECT_EQ(step.http.url, "https://slack.com/api/oauth.v2.access");
    step = flow.on_http_response(200, R"({"ok":true,"app_id":"A1","authed_user":{"id":"U1","scope":"a,b",)"
                                      R"("access_token":"xoxe.xoxp-1","token_type":"user","refresh_token":"xoxe-1-R",)"
                                      R"("expires_in":43200},"team":{"id":"T1","name":"Team"},"enterprise":null})",
                                 kNow);
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::http);
    EXPECT_EQ(step.http.url, "https://slack.com/api/auth.test");
    EXPECT_EQ(step.http.bearer->reveal(), "xoxe.xoxp-1");
    step = flow.on_http_response(200, R"({"ok":true,"url":"https://team.slack.com/","team":"Team","user":"ana",)"
                                      R"("team_id":"T1","user_id":"U1"})",
                                 kNow);
    ASSERT_EQ(step.kind, RedirectFlow::Step::Kind::store);
    EXPECT_EQ(step.context.tokens.access_token->reveal(), "xoxe.xoxp-1");
    EXPECT_EQ(step.context.tokens.refresh_token->reveal(), "xoxe-1-R");
    EXPECT_EQ(*step.context.tokens.expires_at, kNow + seconds{43200});

    const ProviderProfile& slack = oauth.provider;
    for (const char* dead : {"invalid_refresh_token", "invalid_grant", "token_revoked", "account_inactive"}) {
        const auto answer = read_token_answer(slack, 200, std::string(R"({"ok":false,"error":")") + dead + "\"}", kNow);
        EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::dead_grant) << dead;
    }
    for (const char* transient : {"ratelimited", "internal_error", "invalid_code", "invalid_client_id"}) {
        const auto answer = read_token_answer(slack, 200, std::string(R"({"ok":false,"error":")") + transient + "\"}", kNow);
        EXPECT_EQ(answer.kind, TokenEndpointAnswer::Kind::refused) << transient;
    }
    // ok:false without an error is still an error answer, never tokens.
    EXPECT_EQ(read_token_answer(slack, 200, R"({"ok":false,"access_token":"X","expires_in":1})", kNow).kind,
              TokenEndpointAnswer::Kind::refused);
    // A refresh answer: the new pair at the top level.
    const auto refreshed = read_token_answer(
        slack, 200, R"({"ok":true,"access_token":"xoxe.xoxp-2","expires_in":43200,"refresh_token":"xoxe-1-S","token_type":"user"})",
        kNow);
    ASSERT_EQ(refreshed.kind, TokenEndpointAnswer::Kind::tokens);
    EXPECT_EQ(refreshed.tokens.refresh_token->reveal(), "xoxe-1-S");
    // auth.test answers a dead token with 200 ok:false: no user id, an identity failure.
    EXPECT_FALSE(read_identity(slack, 200, R"({"ok":false,"error":"invalid_auth"})"));
    const auto message = message_request(oauth, Secret("xoxb-BOT"), BotMessage{"U1", "hi"});
    ASSERT_TRUE(message);
    EXPECT_EQ(message->url, "https://slack.com/api/chat.postMessage");
    EXPECT_EQ(message->body.reveal(), R"({"channel":"U1","text":"hi"})");
    EXPECT_EQ(message->bearer->reveal(), "xoxb-BOT");
}

}  // namespace
}  // namespace tokend
