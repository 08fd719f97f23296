#include "app/sign_out.h"

#include "core/flow_start.h"

#include <spdlog/spdlog.h>

namespace tokend {

SignOut::SignOut(ServiceRuntime& runtime, ContextCache& cache, UserContexts& contexts, OutboundSender& outbound,
                 const IntegrationSet& integrations)
    : runtime_(runtime), cache_(cache), contexts_(contexts), outbound_(outbound), integrations_(integrations) {}

void SignOut::sign_out(const std::string& user_id, bool revoke, OpCallback<SignedOut> done) {
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult<SignedOut>::failure(ErrorCode::bad_request, problem));
        return;
    }
    contexts_.clear(user_id, [this, user_id, revoke, done = std::move(done)](OpResult<ContextWritten> cleared,
                                                                              std::optional<Tokens> last) mutable {
        if (!cleared.ok()) {
            done(OpResult<SignedOut>::failure(cleared.code(), cleared.message()));  // nothing cleared, nothing revoked
            return;
        }
        SignedOut signed_out;
        signed_out.cleared = cleared.value().existed;
        signed_out.revoke = revoke;
        if (!revoke) return finish(user_id, std::move(signed_out), done);
        const std::optional<RevocationTarget> target = last ? revocation_target(*last) : std::nullopt;
        if (!target) {
            signed_out.revocation.outcome = RevocationOutcome::no_token;
        } else if (integrations_.owner_of(user_id).integration->awaiting_discovery) {
            // The oidc preset without its document: whether and where to revoke is unknown.
            signed_out.revocation.outcome = RevocationOutcome::failed;
            signed_out.revocation.reason = "the provider's OpenID Connect discovery document is not read yet";
        } else if (integrations_.owner_of(user_id).integration->oauth.provider.revocation.url.empty()) {
            signed_out.revocation.outcome = RevocationOutcome::not_supported;
        } else {
            std::optional<Secret> fallback;
            if (target->hint == "refresh_token" && last->access_token && !last->access_token->empty()) {
                fallback = *last->access_token;
            }
            return this->revoke(user_id, *target, std::move(fallback), std::move(signed_out), std::move(done));
        }
        finish(user_id, std::move(signed_out), done);
    });
}

void SignOut::revoke(const std::string& user_id, RevocationTarget target, std::optional<Secret> fallback,
                     SignedOut signed_out, OpCallback<SignedOut> done) {
    const Integration& integration = *integrations_.owner_of(user_id).integration;
    OutboundHttp request = revocation_request(integration.oauth, target);
    request.integration = integration.name;
    runtime_.track(+1);
    outbound_.send(std::move(request),
                   [this, user_id, target, fallback = std::move(fallback), signed_out = std::move(signed_out),
                    done = std::move(done)](OutboundResult result) mutable {
                       signed_out.revocation = read_revocation_answer(target, result.status, result.body, result.error);
                       signed_out.revoked_hint = target.hint;
                       if (signed_out.revocation.try_access_token && fallback) {
                           // RFC 7009 2.2.1: this provider revokes access tokens only.
                           revoke(user_id, RevocationTarget{std::move(*fallback), "access_token"}, std::nullopt,
                                  std::move(signed_out), std::move(done));
                       } else {
                           finish(user_id, std::move(signed_out), done);
                       }
                       runtime_.track(-1);
                   });
}

void SignOut::finish(const std::string& user_id, SignedOut signed_out, const OpCallback<SignedOut>& done) {
    if (!signed_out.revoke) {
        spdlog::info("user {}: signed out here (no revocation asked for)", user_id);
        ++runtime_.counters_of(user_id).sign_out(SignOutRevocation::not_requested);
        runtime_.publish("signed_out", user_id, "not_requested");
        done(OpResult<SignedOut>::success(std::move(signed_out)));
        return;
    }
    const RevocationAnswer& answer = signed_out.revocation;
    switch (answer.outcome) {
        case RevocationOutcome::revoked:
            spdlog::info("user {}: signed out, the grant revoked at the provider ({})", user_id, signed_out.revoked_hint);
            break;
        case RevocationOutcome::not_supported:
            spdlog::info("user {}: signed out here; provider '{}' has no revocation endpoint, the grant lives on "
                         "there until the user removes the app", user_id,
                         integrations_.owner_of(user_id).integration->oauth.provider.name);
            break;
        case RevocationOutcome::no_token:
            spdlog::info("user {}: signed out; there was no token to revoke", user_id);
            break;
        case RevocationOutcome::failed:
            spdlog::warn("user {}: signed out here, but revoking the grant at the provider failed: {}; the grant "
                         "may live on there until the user removes the app", user_id, answer.reason);
            break;
    }
    ++runtime_.counters_of(user_id).sign_out(sign_out_revocation(answer.outcome));
    runtime_.publish("signed_out", user_id, std::string(to_string(answer.outcome)));
    done(OpResult<SignedOut>::success(std::move(signed_out)));
}

void SignOut::grant_status(const std::string& user_id, OpCallback<GrantStatusAnswer> done) const {
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult<GrantStatusAnswer>::failure(ErrorCode::bad_request, problem));
        return;
    }
    const ContextCache::Cached* cached = cache_.find(user_id);
    GrantStatusAnswer answer;
    answer.user_id = user_id;
    const Integration& integration = *integrations_.owner_of(user_id).integration;
    answer.integration = integration.name;
    answer.provider = integration.oauth.provider.name;
    const std::optional<Tokens> tokens = cached ? std::optional<Tokens>(cache_.tokens_of(*cached)) : std::nullopt;
    answer.status = tokend::grant_status(tokens ? &*tokens : nullptr, cached ? cached->failures : 0,
                                         runtime_.now(), runtime_.config().refresh.policy);
    done(OpResult<GrantStatusAnswer>::success(std::move(answer)));
}

}  // namespace tokend
