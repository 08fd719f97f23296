#include "core/service_counters.h"

namespace tokend {

std::string_view to_string(SignOutRevocation revocation) {
    switch (revocation) {
        case SignOutRevocation::not_requested: return "not_requested";
        case SignOutRevocation::revoked: return "revoked";
        case SignOutRevocation::not_supported: return "not_supported";
        case SignOutRevocation::no_token: return "no_token";
        case SignOutRevocation::failed: return "failed";
    }
    return "failed";
}

SignOutRevocation sign_out_revocation(RevocationOutcome outcome) {
    switch (outcome) {
        case RevocationOutcome::revoked: return SignOutRevocation::revoked;
        case RevocationOutcome::not_supported: return SignOutRevocation::not_supported;
        case RevocationOutcome::no_token: return SignOutRevocation::no_token;
        case RevocationOutcome::failed: return SignOutRevocation::failed;
    }
    return SignOutRevocation::failed;
}

uint64_t IntegrationCounters::sign_outs_total() const {
    uint64_t sum = 0;
    for (const uint64_t count : sign_outs) sum += count;
    return sum;
}

IntegrationCounters& IntegrationCounters::operator+=(const IntegrationCounters& other) {
    flows_started += other.flows_started;
    flows_started_without_pkce += other.flows_started_without_pkce;
    flows_completed += other.flows_completed;
    flows_failed += other.flows_failed;
    flows_swept += other.flows_swept;
    for (size_t i = 0; i < redirects.size(); ++i) redirects[i] += other.redirects[i];
    refreshes_succeeded += other.refreshes_succeeded;
    refreshes_failed += other.refreshes_failed;
    refreshes_retried += other.refreshes_retried;
    refreshes_adopted += other.refreshes_adopted;
    reauth_required += other.reauth_required;
    refresh_store_failures += other.refresh_store_failures;
    bot_messages_sent += other.bot_messages_sent;
    bot_messages_failed += other.bot_messages_failed;
    for (size_t i = 0; i < sign_outs.size(); ++i) sign_outs[i] += other.sign_outs[i];
    links_issued += other.links_issued;
    links_opened += other.links_opened;
    links_expired += other.links_expired;
    links_invalid += other.links_invalid;
    return *this;
}

void ServiceCounters::resize(size_t integrations) { per_integration_.resize(integrations == 0 ? 1 : integrations); }

IntegrationCounters ServiceCounters::total() const {
    IntegrationCounters sum = unattributed_;
    for (const IntegrationCounters& one : per_integration_) sum += one;
    return sum;
}

}  // namespace tokend
