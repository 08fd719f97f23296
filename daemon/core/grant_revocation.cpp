#include "core/grant_revocation.h"

namespace tokend {

std::string_view to_string(RevocationOutcome outcome) {
    switch (outcome) {
        case RevocationOutcome::revoked: return "revoked";
        case RevocationOutcome::not_supported: return "not_supported";
        case RevocationOutcome::no_token: return "no_token";
        case RevocationOutcome::failed: return "failed";
    }
    return "failed";
}

std::optional<RevocationTarget> revocation_target(const Tokens& tokens) {
    if (has_refresh_token(tokens)) return RevocationTarget{*tokens.refresh_token, "refresh_token"};
    if (tokens.access_token && !tokens.access_token->empty()) return RevocationTarget{*tokens.access_token, "access_token"};
    return std::nullopt;
}

OutboundHttp revocation_request(const OAuthSettings& oauth, const RevocationTarget& target) {
    // The token endpoint's client authentication (RFC 7009 2.1: "the client
    // also includes its authentication credentials as described in RFC 6749 2.3").
    OutboundHttp request = token_request(oauth, {{"token", target.token.reveal()}, {"token_type_hint", target.hint}});
    request.role = ProviderRole::revoke;
    request.url = provider_url(oauth.provider.revocation.url, oauth);
    request.retry_allowed = false;
    return request;
}

RevocationAnswer read_revocation_answer(const RevocationTarget& sent, int status, std::string_view body,
                                        std::string_view transport_error) {
    RevocationAnswer answer;
    answer.status = status;
    if (status == 200) {
        answer.outcome = RevocationOutcome::revoked;
        return answer;
    }
    answer.outcome = RevocationOutcome::failed;
    if (status == 0) {
        answer.reason = transport_error.empty() ? "no answer" : std::string(transport_error);
        return answer;
    }
    // Only a well-formed OAuth error code is repeated: the body is the provider's free text.
    const std::string error = oauth_error_of(body);
    answer.reason = "HTTP " + std::to_string(status) + (error.empty() ? "" : " " + error);
    answer.try_access_token = status == 400 && error == "unsupported_token_type" && sent.hint == "refresh_token";
    return answer;
}

GrantStatus grant_status(const Tokens* tokens, uint32_t refresh_failures, Timestamp now, const RefreshPolicy& policy) {
    GrantStatus status;
    if (tokens == nullptr) {
        status.reauth_required = true;
        return status;
    }
    status.context = true;
    status.access_token_valid = still_valid(*tokens, now);
    status.access_token_fresh = status.access_token_valid && usable_without_refresh(*tokens, now, policy);
    status.expires_at = tokens->expires_at;
    status.refresh_token_expires_at = tokens->refresh_token_expires_at;
    status.refreshable = has_refresh_token(*tokens) &&
                         (!tokens->refresh_token_expires_at || *tokens->refresh_token_expires_at > now);
    status.reauth_required = !status.access_token_valid && !status.refreshable;
    status.refresh_failures = refresh_failures;
    return status;
}

}  // namespace tokend
