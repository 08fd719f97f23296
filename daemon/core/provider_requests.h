// A provider profile interpreted: the requests tokend sends the provider
// (code exchange and refresh at the token endpoint, the identity check, bot
// messages) described as values, and the provider's answers read into
// decisions. Pure: the edge sends the requests (app/outbound_sender) and the
// state machines (core/redirect_flow, core/refresh_attempt) use the readings.
#pragma once

#include "core/oauth_settings.h"
#include "core/result.h"
#include "core/tokens.h"
#include "core/url_encoding.h"

#include <optional>
#include <string>
#include <string_view>

namespace tokend {

// What a request to the provider is for, whatever its URL: the metrics'
// `endpoint` label (docs/operations.md).
enum class ProviderRole { token, identity, message, revoke, jwks, discovery, other };
std::string_view to_string(ProviderRole role);

// A request to the provider, described; the edge sends it. url never holds a
// secret; body, bearer and authorization do.
struct OutboundHttp {
    ProviderRole role = ProviderRole::other;
    std::string method;
    std::string url;
    std::string content_type;
    Secret body;
    std::optional<Secret> bearer;
    std::optional<Secret> authorization;  // a whole Authorization header value (client_secret_basic)
    bool retry_allowed = false;           // never for a code exchange: a code works once
    std::string integration;              // whose request (metrics); empty: no integration's (JWKS, discovery)
    // A message request's: a 2xx answer whose body asks for a retry
    // (read_message_answer) is retried too.
    std::optional<MessageAnswer> message_answer;
};

// A message to a user through the bot.
struct BotMessage {
    std::string to_person_id;
    std::string markdown;
};

// The scopes as the authorization request's `scope` parameter.
std::string joined_scopes(const OAuthSettings& oauth);

// A URL template of the profile with {api_base} replaced.
std::string provider_url(std::string_view url_template, const OAuthSettings& oauth);

// A POST to the token endpoint with `grant` (grant_type and its fields) and
// the client's credentials where the profile's client_auth puts them.
OutboundHttp token_request(const OAuthSettings& oauth, FormFields grant);

// A token endpoint's answer, read with the profile.
struct TokenEndpointAnswer {
    enum class Kind {
        tokens,      // usable tokens
        dead_grant,  // the profile's dead-grant rule matched: the user must authorize again
        refused,     // an error answer (any status, or 200 with an `error`, as GitHub and Slack answer)
        unusable,    // 200 without an error, but no usable tokens
    };
    Kind kind = Kind::refused;
    Tokens tokens;       // tokens
    std::string error;   // dead_grant, refused: the OAuth error code when well-formed, else ""
    std::string reason;  // unusable: why (never a secret)
};
// status 0: no answer. The tokens are read at the profile's token_path when
// the answer has it, else at the top level.
TokenEndpointAnswer read_token_answer(const ProviderProfile& profile, int status, std::string_view body, Timestamp now);

// GET the profile's identity URL with the new access token.
OutboundHttp identity_request(const OAuthSettings& oauth, const Secret& access_token);

struct Identity {
    std::string user_id;
    std::string display;  // the profile's display field ("" if absent)
};
// The identity answer read with the profile: an error (for the log, no
// secret) unless status is 200 and the user id field is a non-empty string (or
// a whole number, when the profile says ids are numbers).
Result<Identity> read_identity(const ProviderProfile& profile, int status, std::string_view body);

// The request that sends `message` with the bot token; nullopt when the
// profile has no message request (the events tell the bot instead).
std::optional<OutboundHttp> message_request(const OAuthSettings& oauth, const Secret& bot_token,
                                            const BotMessage& message);

// A message request's answer read with the profile's message_answer:
// sent on a 2xx whose ok_path member (if any) is true; retry on a false one
// whose `error` is one of retry_errors; failed otherwise (any other status, no
// answer, a body that is not JSON or lacks the member). `reason` says why for
// the log ("HTTP 403", "ok is not true: channel_not_found", the transport
// error), never a secret: only a well-formed error code is quoted.
struct MessageVerdict {
    enum class Kind { sent, retry, failed };
    Kind kind = Kind::failed;
    std::string reason;  // retry, failed
};
MessageVerdict read_message_answer(const MessageAnswer& rule, int status, std::string_view body,
                                   std::string_view transport_error);

// The value at a dotted path ("emails.0", "authed_user.id"), or nullptr.
const Json* json_at_path(const Json& json, std::string_view path);

}  // namespace tokend
