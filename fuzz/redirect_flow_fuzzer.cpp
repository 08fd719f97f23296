// The redirect flow (core/redirect_flow): the state machine behind
// GET /redirect and process_redirect, driven with a fuzzed query (or flow id
// and code), a fuzzed stored flow, fuzzed answers of the token endpoint and of
// people/me, and a fuzzed store result, in whatever order the steps ask.
// Checks: the machine finishes within its five steps; each step is one the
// stage allows (a POST to the token endpoint whose form carries the code, a GET
// of people/me with the new access token, a store of the flow's user); the
// client secret never reaches a URL, a page, a bot message or a log detail; the
// page's status is one of the outcome's; "authenticated" only after the
// identity matched and the store said yes; the provider's text is escaped in
// the page and cannot break the Markdown message's line.
#include "fuzz_check.h"

#include "core/redirect_flow.h"
#include "core/url_encoding.h"

#include <charconv>

namespace {

using namespace tokend;
using Kind = RedirectFlow::Step::Kind;

constexpr std::string_view kSecret = "CLIENT-SECRET-5f2b9c";

struct Settings {
    Settings() {
        oauth.client_id = "C0ffee";
        oauth.client_secret = Secret(std::string(kSecret));
        oauth.redirect_url = "https://bot.example.com/redirect";
        oauth.token_service = "https://idp.example.com/v1/access_token";
        oauth.api_base = "https://idp.example.com/v1";
    }
    OAuthSettings oauth;
    FlowSettings flows;
    MessageTexts texts;
};

bool mentions_secret(std::string_view text) { return text.find(kSecret) != std::string_view::npos; }

int expected_status(RedirectOutcome outcome) {
    switch (outcome) {
        case RedirectOutcome::authenticated: return 200;
        case RedirectOutcome::bad_request: return 400;
        case RedirectOutcome::unknown_flow: return 404;
        case RedirectOutcome::expired_flow: return 410;
        case RedirectOutcome::denied: return 403;
        case RedirectOutcome::provider_error: return 502;
        case RedirectOutcome::wrong_user: return 403;
        case RedirectOutcome::store_failed: return 503;
    }
    return 500;
}

int status_of(std::string_view text) {
    int status = 0;
    std::from_chars(text.data(), text.data() + text.size(), status);
    return status;
}

}  // namespace

// The input is readable fields separated by "\n----\n", each consumed when the
// machine asks for it (fuzz/corpus/redirect_flow holds examples):
//   1 query of GET /redirect, or the flow id of process_redirect
//   2 the code of process_redirect (empty: 1 is a query)
//   3 the store's take: taken | absent | failed
//   4 the stored flow's JSON
//   5, 6 the token endpoint's status and body
//   7, 8 people/me's status and body
//   9 the store's write: ok | anything else
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Settings settings;
    static const Timestamp now = *parse_iso8601("2026-12-03T12:00:00Z");
    fuzz::Fields in(fuzz::as_text(data, size));
    RedirectFlow flow(settings.oauth, settings.flows, settings.texts);

    const std::string_view first = in.next();
    const std::string code(in.next());
    RedirectFlow::Step step = code.empty() ? flow.begin(first) : flow.begin(first, Secret(code));

    std::string flow_user;  // the user of the flow the store handed out
    bool identity_matched = false;
    bool stored_ok = false;
    int steps = 0;
    while (step.kind != Kind::finish) {
        FUZZ_CHECK(++steps <= 4);
        FUZZ_CHECK(!mentions_secret(step.http.url));
        switch (step.kind) {
            case Kind::take_flow: {
                FUZZ_CHECK(plausible_flow_id(step.flow_id));
                FUZZ_CHECK(step.flow_id == flow.flow_id());
                const std::string_view take = in.next();
                const TakeOutcome outcome = take == "absent"   ? TakeOutcome::absent
                                            : take == "failed" ? TakeOutcome::failed
                                                               : TakeOutcome::taken;
                step = flow.on_flow_taken(outcome, in.next(), now);
                flow_user = flow.user_id();
                break;
            }
            case Kind::http: {
                const bool identifying = step.http.method == "GET";
                if (!identifying) {
                    FUZZ_CHECK(step.http.method == "POST");
                    FUZZ_CHECK(step.http.url == settings.oauth.token_service);
                    FUZZ_CHECK(!step.http.retry_allowed);  // a code works once
                    const auto form = parse_query(step.http.body.reveal(), {});
                    FUZZ_CHECK(form);
                    const std::string* sent = find_field(*form, "code");
                    FUZZ_CHECK(sent != nullptr && !sent->empty());
                    if (!code.empty()) FUZZ_CHECK(*sent == code);
                    const std::string* secret = find_field(*form, "client_secret");
                    FUZZ_CHECK(secret != nullptr && *secret == kSecret);
                } else {
                    FUZZ_CHECK(step.http.url == settings.oauth.api_base + "/people/me");
                    FUZZ_CHECK(step.http.bearer && !step.http.bearer->empty());
                }
                const int status = status_of(in.next());
                step = flow.on_http_response(status, in.next(), now);
                if (identifying && step.kind == Kind::store) identity_matched = true;
                break;
            }
            case Kind::keys:
                FUZZ_CHECK(false);  // the webex profile has no id_token (fuzz_id_token covers those)
                break;
            case Kind::store: {
                FUZZ_CHECK(!flow_user.empty() && step.context.user_id == flow_user);
                FUZZ_CHECK(step.context.tokens.access_token && !step.context.tokens.access_token->empty());
                stored_ok = in.next() == "ok";
                step = flow.on_stored(stored_ok, stored_ok ? "" : "disk full");
                break;
            }
            case Kind::finish: break;
        }
    }

    FUZZ_CHECK(step.page.status == expected_status(step.outcome));
    if (step.outcome == RedirectOutcome::authenticated) FUZZ_CHECK(identity_matched && stored_ok);
    const std::string html = render_html(step.page);
    FUZZ_CHECK(!mentions_secret(html) && !mentions_secret(step.detail));
    if (step.page.message.find_first_of("<>&\"") != std::string::npos) {
        FUZZ_CHECK(html.find(step.page.message) == std::string::npos);  // escaped, not as given
    }
    if (step.message) {
        FUZZ_CHECK(!flow_user.empty() && step.message->to_person_id == flow_user);
        FUZZ_CHECK(!mentions_secret(step.message->markdown));
        FUZZ_CHECK(step.message->markdown.find_first_of("\r\n") == std::string::npos);
    }
    // The code is the browser's secret: it goes to the token endpoint only.
    if (code.size() >= 16 && code.find_first_not_of("0123456789abcdefABCDEF-") == std::string::npos) {
        FUZZ_CHECK(step.detail.find(code) == std::string::npos);
        FUZZ_CHECK(html.find(code) == std::string::npos);
    }
    return 0;
}
