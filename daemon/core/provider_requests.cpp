#include "core/provider_requests.h"

#include "core/byte_encoding.h"
#include "core/json_limits.h"
#include "core/text_template.h"

#include <algorithm>
#include <charconv>

namespace tokend {
namespace {

// RFC 4648 section 4 (standard alphabet, padded), for HTTP Basic.
std::string base64_standard(std::string_view bytes) {
    std::string text = base64url_encode(bytes);
    for (char& c : text) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    while (text.size() % 4 != 0) text += '=';
    return text;
}

// {name} replaced by its value in one pass: a value is never expanded again
// (a text holding "{user_id}" stays as written).
std::string fill_once(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values) {
    std::string filled;
    while (!text.empty()) {
        bool replaced = false;
        if (text.front() == '{') {
            for (const auto& [name, value] : values) {
                if (text.size() >= name.size() + 2 && text.substr(1, name.size()) == name && text[name.size() + 1] == '}') {
                    filled += value;
                    text.remove_prefix(name.size() + 2);
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced) {
            filled += text.front();
            text.remove_prefix(1);
        }
    }
    return filled;
}

// The strings of a message template with its placeholders filled.
Json fill_json(const Json& body, const std::vector<std::pair<std::string, std::string>>& values) {
    if (body.is_string()) return fill_once(body.get<std::string>(), values);
    if (!body.is_structured()) return body;
    Json filled = body.is_array() ? Json::array() : Json::object();
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (body.is_array()) {
            filled.push_back(fill_json(*it, values));
        } else {
            filled[it.key()] = fill_json(it.value(), values);
        }
    }
    return filled;
}

}  // namespace

std::string_view to_string(ProviderRole role) {
    switch (role) {
        case ProviderRole::token: return "token";
        case ProviderRole::identity: return "identity";
        case ProviderRole::message: return "message";
        case ProviderRole::revoke: return "revoke";
        case ProviderRole::jwks: return "jwks";
        case ProviderRole::discovery: return "discovery";
        case ProviderRole::other: break;
    }
    return "other";
}

std::string joined_scopes(const OAuthSettings& oauth) {
    std::string scope;
    for (const auto& item : oauth.scopes) scope += (scope.empty() ? "" : oauth.provider.scope_separator) + item;
    return scope;
}

std::string provider_url(std::string_view url_template, const OAuthSettings& oauth) {
    return fill_template(std::string(url_template), {{"api_base", oauth.api_base}});
}

OutboundHttp token_request(const OAuthSettings& oauth, FormFields grant) {
    OutboundHttp request;
    request.role = ProviderRole::token;
    request.method = "POST";
    request.url = oauth.token_service;
    request.content_type = "application/x-www-form-urlencoded";
    if (oauth.provider.client_auth == ClientAuth::client_secret_basic) {
        // RFC 6749 2.3.1: each part form-encoded before the Basic encoding.
        request.authorization =
            Secret("Basic " + base64_standard(form_encode(oauth.client_id) + ":" + form_encode(oauth.client_secret.reveal())));
    } else {
        // After grant_type, as tokend always sent them.
        const auto at = grant.empty() ? grant.begin() : grant.begin() + 1;
        grant.insert(at, {{"client_id", oauth.client_id}, {"client_secret", oauth.client_secret.reveal()}});
    }
    request.body = Secret(form_encode(grant));
    request.retry_allowed = false;
    return request;
}

TokenEndpointAnswer read_token_answer(const ProviderProfile& profile, int status, std::string_view body, Timestamp now) {
    TokenEndpointAnswer answer;
    const Json json = parse_bounded_json(body);
    // Slack answers every error with HTTP 200, `"ok": false` and an `error`.
    const bool has_error = json.is_object() && (json.contains("error") || (json.contains("ok") && json["ok"] == false));
    answer.error = oauth_error_of(body);
    const auto& dead = profile.dead_grant;
    const bool dead_error = !answer.error.empty() &&
                            std::find(dead.errors.begin(), dead.errors.end(), answer.error) != dead.errors.end();
    const bool dead_status = std::find(dead.statuses.begin(), dead.statuses.end(), status) != dead.statuses.end();
    if (status != 0 && (dead_error || dead_status)) {
        answer.kind = TokenEndpointAnswer::Kind::dead_grant;
        return answer;
    }
    if (status != 200 || has_error) {
        answer.kind = TokenEndpointAnswer::Kind::refused;
        return answer;
    }
    answer.error.clear();
    const Json* tokens_json = &json;
    if (!profile.token_path.empty()) {
        if (const Json* nested = json_at_path(json, profile.token_path); nested != nullptr && nested->is_object()) {
            tokens_json = nested;
        }
    }
    auto tokens = tokens_from_token_response(*tokens_json, now);
    if (!tokens) {
        answer.kind = TokenEndpointAnswer::Kind::unusable;
        answer.reason = tokens.error();
        return answer;
    }
    answer.kind = TokenEndpointAnswer::Kind::tokens;
    answer.tokens = std::move(tokens).value();
    return answer;
}

OutboundHttp identity_request(const OAuthSettings& oauth, const Secret& access_token) {
    OutboundHttp request;
    request.role = ProviderRole::identity;
    request.method = "GET";
    request.url = provider_url(oauth.provider.identity.url, oauth);
    request.bearer = access_token;
    request.retry_allowed = true;
    return request;
}

Result<Identity> read_identity(const ProviderProfile& profile, int status, std::string_view body) {
    using Failure = Result<Identity>;
    if (status != 200) return Failure::failure(status == 0 ? "no answer" : "HTTP " + std::to_string(status));
    const Json json = parse_bounded_json(body);
    const Json* id = json_at_path(json, profile.identity.user_id_path);
    Identity identity;
    if (id != nullptr && id->is_string()) {
        identity.user_id = id->get<std::string>();
    } else if (id != nullptr && profile.identity.numeric_user_id &&
               (id->is_number_integer() || id->is_number_unsigned())) {
        identity.user_id = id->dump();  // GitHub's numeric ids, as decimal text
    }
    if (identity.user_id.empty()) {
        return Failure::failure("the answer has no user id at '" + profile.identity.user_id_path + "'");
    }
    if (!profile.identity.display_path.empty()) {
        const Json* display = json_at_path(json, profile.identity.display_path);
        if (display != nullptr && display->is_string()) identity.display = display->get<std::string>();
    }
    return identity;
}

std::optional<OutboundHttp> message_request(const OAuthSettings& oauth, const Secret& bot_token,
                                            const BotMessage& message) {
    const MessageRequest& template_ = oauth.provider.message;
    if (template_.url.empty()) return std::nullopt;
    OutboundHttp request;
    request.role = ProviderRole::message;
    request.method = "POST";
    request.url = provider_url(template_.url, oauth);
    request.content_type = "application/json";
    request.body = Secret(fill_json(template_.body, {{"text", message.markdown}, {"user_id", message.to_person_id}}).dump());
    request.bearer = bot_token;
    request.retry_allowed = true;
    request.message_answer = oauth.provider.message_answer;
    return request;
}

MessageVerdict read_message_answer(const MessageAnswer& rule, int status, std::string_view body,
                                   std::string_view transport_error) {
    using Kind = MessageVerdict::Kind;
    if (status == 0) return {Kind::failed, transport_error.empty() ? "no answer" : std::string(transport_error)};
    if (status < 200 || status > 299) return {Kind::failed, "HTTP " + std::to_string(status)};
    if (rule.ok_path.empty()) return {Kind::sent, ""};
    const Json json = parse_bounded_json(body);
    const Json* ok = json_at_path(json, rule.ok_path);
    if (ok != nullptr && ok->is_boolean() && ok->get<bool>()) return {Kind::sent, ""};
    // Only a well-formed code is quoted (and matched): the body is the provider's text.
    const std::string error = oauth_error_of(body);
    const std::string reason = rule.ok_path + " is not true: " + (error.empty() ? "no error code" : error);
    const bool retry = !error.empty() && std::find(rule.retry_errors.begin(), rule.retry_errors.end(), error) !=
                                             rule.retry_errors.end();
    return {retry ? Kind::retry : Kind::failed, reason};
}

const Json* json_at_path(const Json& json, std::string_view path) {
    const Json* at = &json;
    for (bool more = !path.empty(); more;) {
        const size_t dot = path.find('.');
        const std::string_view part = path.substr(0, dot);
        more = dot != std::string_view::npos;
        path = more ? path.substr(dot + 1) : std::string_view();
        if (part.empty()) return nullptr;  // "a..b", "a."
        if (at->is_object()) {
            const auto found = at->find(std::string(part));
            if (found == at->end()) return nullptr;
            at = &*found;
        } else if (at->is_array()) {
            size_t index = 0;
            const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), index);
            if (error != std::errc() || end != part.data() + part.size() || part.empty() || index >= at->size()) {
                return nullptr;
            }
            at = &(*at)[index];
        } else {
            return nullptr;
        }
    }
    return at;
}

}  // namespace tokend
