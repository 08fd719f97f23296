#include "core/redirect_flow.h"

#include "core/json_limits.h"
#include "core/text_template.h"
#include "core/url_encoding.h"

namespace tokend {
namespace {

// RFC 6749 4.1.2.1: the error codes an authorization response may carry.
constexpr std::string_view kAuthorizationErrors[] = {
    "invalid_request", "unauthorized_client",    "access_denied",          "unsupported_response_type",
    "invalid_scope",   "server_error",           "temporarily_unavailable"};

// Only a known code is ever repeated back (to logs, pages or messages).
std::string known_error_code(std::string_view code) {
    for (std::string_view known : kAuthorizationErrors) {
        if (code == known) return std::string(known);
    }
    return "unknown_error";
}

HtmlPage page_for(RedirectOutcome outcome, const std::string& detail) {
    switch (outcome) {
        case RedirectOutcome::authenticated:
            return {200, "Authenticated",
                    "Your authorization is stored: the bot can now act on your behalf. You can close this window."};
        case RedirectOutcome::bad_request:
            return {400, "Incomplete link",
                    "This page expects the code and state that the identity provider adds to the link. "
                    "Please start again from the bot."};
        case RedirectOutcome::unknown_flow:
            return {404, "Unknown or used link",
                    "This authorization link is unknown or has already been used. Please ask the bot for a new one."};
        case RedirectOutcome::expired_flow:
            return {410, "Link expired", "This authorization link has expired. Please ask the bot for a new one."};
        case RedirectOutcome::denied:
            return {403, "Authorization not granted",
                    detail == "access_denied"
                        ? "You declined the authorization, so nothing was stored. You can close this window."
                        : "The identity provider reported an error (" + detail +
                              "), so nothing was stored. Please ask the bot for a new link."};
        case RedirectOutcome::provider_error:
            return {502, "Authorization failed",
                    "The identity provider could not complete the authorization, so nothing was stored. "
                    "Please ask the bot for a new link."};
        case RedirectOutcome::wrong_user:
            return {403, "Wrong account",
                    "You signed in as " + detail +
                        ", which is not the account that asked for this link. Nothing was stored."};
        case RedirectOutcome::store_failed:
            return {503, "Temporarily unavailable",
                    "Your authorization could not be saved right now. Please try again in a moment."};
    }
    return {500, "Error", "Unexpected error."};
}

}  // namespace

std::string_view to_string(RedirectOutcome outcome) {
    switch (outcome) {
        case RedirectOutcome::authenticated: return "authenticated";
        case RedirectOutcome::bad_request: return "bad_request";
        case RedirectOutcome::unknown_flow: return "unknown_flow";
        case RedirectOutcome::expired_flow: return "expired_flow";
        case RedirectOutcome::denied: return "denied";
        case RedirectOutcome::provider_error: return "provider_error";
        case RedirectOutcome::wrong_user: return "wrong_user";
        case RedirectOutcome::store_failed: return "store_failed";
    }
    return "unknown";
}

RedirectFlow::RedirectFlow(const OAuthSettings& oauth, const FlowSettings& flows, const MessageTexts& texts)
    : oauth_(&oauth), flows_(flows), texts_(&texts) {}

RedirectFlow::RedirectFlow(const IntegrationSet& integrations, const FlowSettings& flows)
    : oauth_(&integrations.default_integration().oauth),
      flows_(flows),
      texts_(&integrations.default_integration().messages),
      integrations_(&integrations) {}

RedirectFlow::Step RedirectFlow::finish(RedirectOutcome outcome, std::string detail, const std::string& text,
                                        std::vector<std::pair<std::string, std::string>> values) {
    stage_ = Stage::done;
    Step step;
    step.kind = Step::Kind::finish;
    step.outcome = outcome;
    std::string page_detail = detail;
    if (outcome == RedirectOutcome::wrong_user || outcome == RedirectOutcome::denied) {
        // The page names the account or the provider's error code; the detail holds just that.
        for (const auto& [name, value] : values) {
            if (name == "email" || name == "error") page_detail = value;
        }
    }
    step.page = page_for(outcome, page_detail);
    step.detail = std::move(detail);
    if (!text.empty() && !flow_.user_id.empty()) {
        // The message is Markdown and the email is the provider's text (the other
        // values are tokend's own: times it formats, error codes of [a-z_]).
        for (auto& [name, value] : values) {
            if (name == "email") value = escape_markdown(value);
        }
        step.message = BotMessage{flow_.user_id, fill_template(text, values)};
    }
    return step;
}

RedirectFlow::Step RedirectFlow::begin(std::string_view query) {
    auto fields = parse_query(query, {"code", "state", "error"});
    if (!fields) return finish(RedirectOutcome::bad_request, fields.error(), "");
    const std::string* state = find_field(*fields, "state");
    const std::string* code = find_field(*fields, "code");
    const std::string* error = find_field(*fields, "error");
    if (error != nullptr) {
        provider_error_ = known_error_code(*error);
        if (state == nullptr || !plausible_flow_id(*state)) {
            return finish(RedirectOutcome::denied, "provider error " + provider_error_ + " without a usable state", "",
                          {{"error", provider_error_}});
        }
        flow_id_ = *state;
        stage_ = Stage::taking;
        Step step;
        step.kind = Step::Kind::take_flow;
        step.flow_id = flow_id_;
        return step;
    }
    if (state == nullptr || state->empty() || code == nullptr || code->empty()) {
        return finish(RedirectOutcome::bad_request, "code or state missing", "");
    }
    return begin(*state, Secret(*code));
}

// Flow ids are tokend's 32 base64url characters, or the original's UUIDs (flows
// pending in a migrated store): anything else cannot be a flow, needs no store
// lookup, and is never repeated in a log line.
bool plausible_flow_id(std::string_view flow_id) {
    if (flow_id.empty() || flow_id.size() > 64) return false;
    for (char c : flow_id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

RedirectFlow::Step RedirectFlow::begin(std::string_view flow_id, Secret code) {
    if (flow_id.empty() || code.empty()) return finish(RedirectOutcome::bad_request, "code or state missing", "");
    if (!plausible_flow_id(flow_id)) return finish(RedirectOutcome::unknown_flow, "malformed state", "");
    flow_id_ = std::string(flow_id);
    code_ = std::move(code);
    stage_ = Stage::taking;
    Step step;
    step.kind = Step::Kind::take_flow;
    step.flow_id = flow_id_;
    return step;
}

RedirectFlow::Step RedirectFlow::on_flow_taken(TakeOutcome outcome, std::string_view stored_text, Timestamp now) {
    if (stage_ != Stage::taking) return finish(RedirectOutcome::bad_request, "out of order: flow taken", "");
    if (outcome == TakeOutcome::failed) return finish(RedirectOutcome::store_failed, "store failed to take the flow", "");
    if (outcome == TakeOutcome::absent) return finish(RedirectOutcome::unknown_flow, "no such pending flow", "");
    auto parsed = flow_state_from_json(stored_text);
    if (!parsed) return finish(RedirectOutcome::unknown_flow, "stored flow unreadable: " + parsed.error(), "");
    flow_ = std::move(parsed).value();
    provider_user_id_ = flow_.user_id;
    if (integrations_ != nullptr) {
        // The flow's user key names its integration: its provider, client and texts from here on.
        const UserKeyOwner owner = integrations_->owner_of(flow_.user_id);
        oauth_ = &owner.integration->oauth;
        texts_ = &owner.integration->messages;
        integration_ = owner.integration;
        provider_user_id_ = std::string(owner.user_id);
    }
    if (flow_.expired(now, flows_.ttl)) {
        return finish(RedirectOutcome::expired_flow, "flow older than its TTL", texts_->expired);
    }
    if (!provider_error_.empty()) {
        const std::string& text = provider_error_ == "access_denied" ? texts_->denied : texts_->provider_error;
        return finish(RedirectOutcome::denied, "provider answered " + provider_error_, text,
                      {{"error", provider_error_}});
    }
    return exchange_code();
}

// What an operator checks when the provider refuses a code (the user sees a
// generic page; the log says where to look).
static std::string exchange_failure_hint(int status, const std::string& code) {
    if (status == 0) return "; the token service did not answer: check integration.token_service and the network";
    if (code == "invalid_client" || status == 401) {
        return "; the provider refused the client: check integration.client_id and the client secret";
    }
    return "; likely causes: integration.redirect_url differs from the redirect URI registered at the provider, "
           "a PKCE mismatch (the flow's verifier), the code was already used or has expired (codes live minutes: "
           "a slow or replayed browser), or this host's clock is off";
}

RedirectFlow::Step RedirectFlow::exchange_code() {
    FormFields form = {{"grant_type", "authorization_code"}, {"code", code_.reveal()}, {"redirect_uri", oauth_->redirect_url}};
    if (flow_.code_verifier) form.emplace_back("code_verifier", flow_.code_verifier->reveal());
    stage_ = Stage::exchanging;
    Step step;
    step.kind = Step::Kind::http;
    step.http = token_request(*oauth_, std::move(form));
    return step;
}

RedirectFlow::Step RedirectFlow::on_http_response(int status, std::string_view body, Timestamp now) {
    if (stage_ == Stage::exchanging) {
        TokenEndpointAnswer answer = read_token_answer(oauth_->provider, status, body, now);
        if (answer.kind == TokenEndpointAnswer::Kind::unusable) {
            return finish(RedirectOutcome::provider_error, "code exchange answer unusable: " + answer.reason,
                          texts_->provider_error, {{"error", "code exchange failed"}});
        }
        if (answer.kind != TokenEndpointAnswer::Kind::tokens) {
            const std::string& code = answer.error;
            const std::string why = status == 0 ? "no answer" : "HTTP " + std::to_string(status);
            return finish(RedirectOutcome::provider_error,
                          "code exchange failed: " + why + (code.empty() ? "" : " (" + code + ")") +
                              exchange_failure_hint(status, code),
                          texts_->provider_error, {{"error", "code exchange failed"}});
        }
        context_.user_id = flow_.user_id;
        context_.tokens = std::move(answer.tokens);
        if (oauth_->provider.openid.identity_source == IdentitySource::id_token) return verify_id_token_step(body);
        stage_ = Stage::identifying;
        Step step;
        step.kind = Step::Kind::http;
        step.http = identity_request(*oauth_, context_.tokens.access_token.value_or(Secret()));
        return step;
    }
    if (stage_ == Stage::identifying) {
        auto identity = read_identity(oauth_->provider, status, body);
        if (!identity) {
            return finish(RedirectOutcome::provider_error, "identity check failed: " + identity.error(),
                          texts_->provider_error, {{"error", "identity check failed"}});
        }
        return check_identity(*identity);
    }
    return finish(RedirectOutcome::bad_request, "out of order: HTTP response", "");
}

RedirectFlow::Step RedirectFlow::check_identity(const Identity& identity) {
    if (identity.user_id != provider_user_id_) {
        const std::string email = identity.display.empty() ? "another account" : identity.display;
        return finish(RedirectOutcome::wrong_user, "tokens belong to another account", texts_->wrong_user,
                      {{"email", email}});
    }
    stage_ = Stage::storing;
    Step step;
    step.kind = Step::Kind::store;
    step.context = context_;
    return step;
}

// OpenID Connect: the id_token sits beside the tokens (at the profile's
// token_path when the answer has it); its kid says which keys the edge must have.
RedirectFlow::Step RedirectFlow::verify_id_token_step(std::string_view exchange_body) {
    const Json json = parse_bounded_json(exchange_body);
    const Json* id_token = nullptr;
    if (!oauth_->provider.token_path.empty()) id_token = json_at_path(json, oauth_->provider.token_path + ".id_token");
    if (id_token == nullptr) id_token = json_at_path(json, "id_token");
    if (id_token == nullptr || !id_token->is_string()) {
        return finish(RedirectOutcome::provider_error,
                      "identity check failed: the code exchange answer has no id_token (is `openid` among the scopes?)",
                      texts_->provider_error, {{"error", "identity check failed"}});
    }
    id_token_ = id_token->get<std::string>();
    auto header = read_id_token_header(id_token_);
    if (!header) {
        return finish(RedirectOutcome::provider_error, "identity check failed: " + header.error(),
                      texts_->provider_error, {{"error", "identity check failed"}});
    }
    stage_ = Stage::verifying;
    Step step;
    step.kind = Step::Kind::keys;
    step.key_id = header->kid;
    return step;
}

RedirectFlow::Step RedirectFlow::on_keys(const JsonWebKeySet* keys, std::string_view error, Timestamp now) {
    if (stage_ != Stage::verifying) return finish(RedirectOutcome::bad_request, "out of order: keys", "");
    if (keys == nullptr) {
        return finish(RedirectOutcome::provider_error,
                      "identity check failed: the provider's signing keys are not available: " + std::string(error),
                      texts_->provider_error, {{"error", "identity check failed"}});
    }
    const IdTokenExpectations expect{oauth_->provider.openid.issuer, oauth_->client_id, oidc_nonce(flow_id_), now};
    auto claims = verify_id_token(id_token_, *keys, expect);
    id_token_.clear();
    if (!claims) {
        return finish(RedirectOutcome::provider_error, "identity check failed: " + claims.error(),
                      texts_->provider_error, {{"error", "identity check failed"}});
    }
    return check_identity({claims->subject, claims->email.empty() ? claims->name : claims->email});
}

RedirectFlow::Step RedirectFlow::on_stored(bool ok, std::string_view detail) {
    if (stage_ != Stage::storing) return finish(RedirectOutcome::bad_request, "out of order: stored", "");
    if (!ok) {
        return finish(RedirectOutcome::store_failed, "storing the context failed: " + std::string(detail),
                      texts_->store_failed);
    }
    const std::string until =
        context_.tokens.expires_at ? format_iso8601(*context_.tokens.expires_at) : std::string("unknown");
    return finish(RedirectOutcome::authenticated, "tokens stored", texts_->authenticated, {{"expires_at", until}});
}

}  // namespace tokend
