// The end of an OAuth flow, as a state machine with no I/O: the browser comes
// back to GET /redirect with code and state; tokend takes the flow (once),
// exchanges the code, checks whose tokens they are, stores them and tells the
// user. Each call returns the next Step for the edge to carry out; the edge
// feeds the result back. The same machine serves the control protocol's
// process_redirect.
#pragma once

#include "core/flow_state.h"
#include "core/html_page.h"
#include "core/id_token.h"
#include "core/integrations.h"
#include "core/oauth_settings.h"
#include "core/provider_requests.h"
#include "core/user_context.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tokend {

enum class RedirectOutcome {
    authenticated,   // tokens stored
    bad_request,     // code/state missing or given twice
    unknown_flow,    // no such pending flow (never existed, already used, collected)
    expired_flow,    // the flow was older than its TTL
    denied,          // the provider said error=... (access_denied and the other RFC 6749 codes)
    provider_error,  // code exchange or identity check failed
    wrong_user,      // tokens belong to someone else than the flow's user
    store_failed     // tokens could not be stored
};
inline constexpr size_t kRedirectOutcomeCount = static_cast<size_t>(RedirectOutcome::store_failed) + 1;
std::string_view to_string(RedirectOutcome outcome);

enum class TakeOutcome { taken, absent, failed };

// Whether a state could be a flow id at all (tokend's or the original's UUIDs).
bool plausible_flow_id(std::string_view flow_id);

class RedirectFlow {
public:
    struct Step {
        enum class Kind { take_flow, http, keys, store, finish };
        Kind kind = Kind::finish;
        std::string flow_id;  // take_flow
        OutboundHttp http;    // http
        std::string key_id;   // keys: the kid of the id_token's header ("" if none)
        UserContext context;  // store
        // finish:
        RedirectOutcome outcome = RedirectOutcome::bad_request;
        HtmlPage page;
        std::optional<BotMessage> message;
        std::string detail;  // for the log: why, never a secret
    };

    RedirectFlow(const OAuthSettings& oauth, const FlowSettings& flows, const MessageTexts& texts);
    // Several integrations: the flow's user key (its user_id) says whose
    // provider, client and texts finish it (core/integrations.h); the identity
    // is checked against the user id in the key. `integrations` outlives the flow.
    RedirectFlow(const IntegrationSet& integrations, const FlowSettings& flows);

    // From the query string of GET /redirect.
    Step begin(std::string_view query);
    // From process_redirect {flow_id, code}.
    Step begin(std::string_view flow_id, Secret code);

    // After take(flow) in the store: stored_text is the flow's JSON when taken.
    Step on_flow_taken(TakeOutcome outcome, std::string_view stored_text, Timestamp now);
    // After the code exchange or the identity request (status 0: no answer).
    Step on_http_response(int status, std::string_view body, Timestamp now);
    // After the provider's signing keys were looked up for key_id (keys step):
    // nullptr when they could not be had (error says why, for the log).
    Step on_keys(const JsonWebKeySet* keys, std::string_view error, Timestamp now);
    // After storing the user context.
    Step on_stored(bool ok, std::string_view detail);

    const std::string& flow_id() const { return flow_id_; }
    const std::string& user_id() const { return flow_.user_id; }  // empty until the flow is taken
    // The settings in force: the taken flow's integration's (until then the default's).
    const OAuthSettings& oauth() const { return *oauth_; }
    // The taken flow's integration (nullptr without an IntegrationSet or before the take).
    const Integration* integration() const { return integration_; }

private:
    enum class Stage { start, taking, exchanging, identifying, verifying, storing, done };

    Step finish(RedirectOutcome outcome, std::string detail, const std::string& text,
                std::vector<std::pair<std::string, std::string>> values = {});
    Step exchange_code();
    Step check_identity(const Identity& identity);
    // The id_token of the code-exchange answer, kept until the keys come.
    Step verify_id_token_step(std::string_view exchange_body);

    const OAuthSettings* oauth_;
    const FlowSettings& flows_;
    const MessageTexts* texts_;
    const IntegrationSet* integrations_ = nullptr;
    const Integration* integration_ = nullptr;
    std::string provider_user_id_;  // the flow's user as the provider knows them
    Stage stage_ = Stage::start;
    std::string flow_id_;
    Secret code_;
    std::string provider_error_;  // error=... from the redirect, if any
    FlowState flow_;
    UserContext context_;
    std::string id_token_;  // OpenID Connect: from the code exchange, until verified
};

}  // namespace tokend
