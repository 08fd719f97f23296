// The provider's answers (core/tokens, core/retry_policy, core/refresh_attempt):
// a token endpoint's status, JSON body and Retry-After header, as a code
// exchange or a refresh gets them, read with a provider preset's profile
// (core/provider_requests). (people/me's identity answer is fuzzed with the
// redirect flow.) The input is up to four fields separated by "\n----\n":
// status, body, Retry-After, and the preset (webex when absent or unknown).
// Checks: tokens_from_token_response accepts only a non-empty access token
// with lifetimes in range, and its tokens survive the stored form
// (to_json/tokens_from_json) unchanged; oauth_error_of gives "" or 1-64 of
// [a-z_]; Retry-After is never negative; a refresh fed the answer writes the
// fresh tokens (or clears the grant when the answer's error is one of the
// profile's dead-grant errors, whatever the status), or retries, and no log
// note or caller message holds a secret, the provider's free text or a line
// break (forged log lines).
#include "fuzz_check.h"

#include "core/json_limits.h"
#include "core/provider_presets.h"
#include "core/provider_requests.h"
#include "core/refresh_attempt.h"
#include "core/retry_policy.h"

#include <algorithm>
#include <charconv>

namespace {

using namespace tokend;

constexpr std::string_view kSecret = "CLIENT-SECRET-5f2b9c";
constexpr std::string_view kRefreshToken = "OLD-REFRESH-TOKEN-77d1";

bool clean_text(std::string_view text) {
    return text.find(kSecret) == std::string_view::npos && text.find(kRefreshToken) == std::string_view::npos &&
           text.find_first_of("\r\n") == std::string_view::npos;
}

void check_tokens(const Json& json, Timestamp now) {
    auto tokens = tokens_from_token_response(json, now);
    if (!tokens) return;
    FUZZ_CHECK(tokens->access_token && !tokens->access_token->empty());
    const auto century = std::chrono::hours(24 * 365 * 100);
    if (tokens->expires_at) FUZZ_CHECK(*tokens->expires_at >= now && *tokens->expires_at <= now + century);
    if (tokens->refresh_token_expires_at) {
        FUZZ_CHECK(tokens->refresh_token);
        FUZZ_CHECK(*tokens->refresh_token_expires_at >= now && *tokens->refresh_token_expires_at <= now + century);
    }
    const auto stored = tokens_from_json(to_json(*tokens));
    FUZZ_CHECK(stored);
    FUZZ_CHECK(*stored == *tokens);
}

void refresh_with(const OAuthSettings& oauth, int status, std::string_view body, std::string_view retry_after,
                  Timestamp now) {
    static const RefreshPolicy policy;
    UserContext context;
    context.user_id = "U1";
    context.tokens.access_token = Secret("OLD-ACCESS-TOKEN");
    context.tokens.expires_at = now + std::chrono::seconds(30);
    context.tokens.refresh_token = Secret(std::string(kRefreshToken));
    context.tokens.token_type = "Bearer";
    const CachedUser cached{&context, 0};

    RefreshAttempt attempt(oauth, policy, std::chrono::seconds(15), 0.5);
    auto step = attempt.begin(cached, nullptr, /*configured=*/true, /*can_lock=*/false, now);
    FUZZ_CHECK(step.kind == RefreshAttempt::Step::Kind::http);
    step = attempt.on_http_response(status, body, retry_after, "timed out", cached, now);
    for (const LogNote& note : step.notes) FUZZ_CHECK(clean_text(note.text));
    if (step.kind == RefreshAttempt::Step::Kind::finish) {
        FUZZ_CHECK(step.ending == RefreshEnding::retry);
        FUZZ_CHECK(clean_text(step.result.message));
        FUZZ_CHECK(step.retry_scheduled && step.try_again_in && step.try_again_in->count() >= 0);
        return;
    }
    FUZZ_CHECK(step.kind == RefreshAttempt::Step::Kind::write);
    const auto& errors = oauth.provider.dead_grant.errors;
    const bool dead = status != 0 && std::find(errors.begin(), errors.end(), oauth_error_of(body)) != errors.end();
    if (dead) {
        FUZZ_CHECK(!step.context.tokens.access_token && !step.context.tokens.refresh_token);
    } else {
        FUZZ_CHECK(status == 200);
        FUZZ_CHECK(step.context.tokens.access_token && !step.context.tokens.access_token->empty());
        FUZZ_CHECK(step.context.tokens.refresh_token);  // kept when the answer has none
    }
    step = attempt.on_written(WriteResult{WriteResult::Written::stored, std::nullopt, ""}, cached, now);
    FUZZ_CHECK(step.kind == RefreshAttempt::Step::Kind::finish);
    FUZZ_CHECK(step.ending == (dead ? RefreshEnding::reauth : RefreshEnding::refreshed));
    for (const LogNote& note : step.notes) FUZZ_CHECK(clean_text(note.text));
    FUZZ_CHECK(clean_text(step.result.message));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Timestamp now = *parse_iso8601("2026-12-03T12:00:00Z");
    fuzz::Fields in(fuzz::as_text(data, size));
    const std::string_view status_text = in.next();
    const std::string_view body = in.next();
    const std::string_view retry_after = in.next();
    OAuthSettings oauth;
    apply_provider_preset(in.next(), &oauth);  // unknown: stays webex
    oauth.client_id = "C0ffee";
    oauth.client_secret = Secret(std::string(kSecret));
    oauth.token_service = "https://idp.example.com/v1/access_token";
    int status = 0;
    std::from_chars(status_text.data(), status_text.data() + status_text.size(), status);

    const Json json = parse_bounded_json(body);
    check_tokens(json, now);

    const std::string code = oauth_error_of(body);
    FUZZ_CHECK(code.size() <= 64);
    FUZZ_CHECK(code.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);

    if (const auto delay = parse_retry_after(retry_after, now)) FUZZ_CHECK(delay->count() >= 0);

    // The reading agrees with the rule: a dead grant only on a listed error
    // (any status but none); tokens only from a 200 without an error.
    const TokenEndpointAnswer answer = read_token_answer(oauth.provider, status, body, now);
    if (answer.kind == TokenEndpointAnswer::Kind::tokens) {
        FUZZ_CHECK(status == 200 && code.empty());
        FUZZ_CHECK(answer.tokens.access_token && !answer.tokens.access_token->empty());
    }

    refresh_with(oauth, status, body, retry_after, now);
    return 0;
}
