// What the token service counts, one set per integration (docs/operations.md,
// "Metrics"): /metrics labels each set with its integration's name and the
// stats op reports the totals and each integration's. No I/O; loop thread only.
//
// Integrations are numbered as IntegrationSet::all() lists them (0: the
// default). A redirect whose state names no flow (unknown, used, malformed)
// and an auth link that names nobody belong to no integration: they are
// counted in unattributed(). Counting is an array slot, never a lookup by name:
// /redirect is on the hot path (issue 16).
#pragma once

#include "core/grant_revocation.h"
#include "core/redirect_flow.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tokend {

// A sign-out's revocation outcome, or that none was asked for.
enum class SignOutRevocation { not_requested, revoked, not_supported, no_token, failed };
inline constexpr size_t kSignOutRevocationCount = static_cast<size_t>(SignOutRevocation::failed) + 1;
std::string_view to_string(SignOutRevocation revocation);
SignOutRevocation sign_out_revocation(RevocationOutcome outcome);

// One integration's counts (or the unattributed ones, or a sum of them).
struct IntegrationCounters {
    uint64_t flows_started = 0;
    uint64_t flows_started_without_pkce = 0;  // start_flow with "pkce": false (legacy callers)
    uint64_t flows_completed = 0;
    uint64_t flows_failed = 0;
    uint64_t flows_swept = 0;  // expired or unreadable pending flows collected
    std::array<uint64_t, kRedirectOutcomeCount> redirects{};  // by RedirectOutcome
    uint64_t refreshes_succeeded = 0;
    uint64_t refreshes_failed = 0;        // attempts that ended without new tokens (incl. retried ones)
    uint64_t refreshes_retried = 0;       // failures followed by a scheduled retry
    uint64_t refreshes_adopted = 0;       // another process had refreshed already (shared store)
    uint64_t reauth_required = 0;         // grants found dead (invalid_grant)
    uint64_t refresh_store_failures = 0;  // new tokens not yet stored, write retried
    uint64_t bot_messages_sent = 0;
    uint64_t bot_messages_failed = 0;
    std::array<uint64_t, kSignOutRevocationCount> sign_outs{};  // by SignOutRevocation
    uint64_t links_issued = 0;   // auth_link answers and re-auth messages
    uint64_t links_opened = 0;   // valid links opened (GET): each started a flow
    uint64_t links_expired = 0;  // expired links opened
    uint64_t links_invalid = 0;  // tampered, cut or foreign links opened (unattributed only)

    uint64_t& redirect(RedirectOutcome outcome) { return redirects[static_cast<size_t>(outcome)]; }
    uint64_t redirect(RedirectOutcome outcome) const { return redirects[static_cast<size_t>(outcome)]; }
    uint64_t& sign_out(SignOutRevocation revocation) { return sign_outs[static_cast<size_t>(revocation)]; }
    uint64_t sign_out(SignOutRevocation revocation) const { return sign_outs[static_cast<size_t>(revocation)]; }
    uint64_t sign_outs_total() const;

    IntegrationCounters& operator+=(const IntegrationCounters& other);
};

class ServiceCounters {
public:
    // `integrations`: how many the IntegrationSet holds (at least one).
    explicit ServiceCounters(size_t integrations = 1) { resize(integrations); }

    // Sized from the integrations list; counts of integrations kept keep their values.
    void resize(size_t integrations);
    size_t integrations() const { return per_integration_.size(); }

    // Integration `index`'s counts; an index past the list (which a caller
    // should never give) counts as unattributed rather than out of bounds.
    IntegrationCounters& of(size_t index) {
        return index < per_integration_.size() ? per_integration_[index] : unattributed_;
    }
    const IntegrationCounters& of(size_t index) const {
        return index < per_integration_.size() ? per_integration_[index] : unattributed_;
    }
    IntegrationCounters& unattributed() { return unattributed_; }
    const IntegrationCounters& unattributed() const { return unattributed_; }
    // Every integration's counts and the unattributed ones, summed.
    IntegrationCounters total() const;

    // The process's own, of no integration.
    uint64_t store_changes_applied = 0;  // other processes' writes taken into the cache
    uint64_t store_resyncs = 0;

private:
    std::vector<IntegrationCounters> per_integration_;
    IntegrationCounters unattributed_;
};

}  // namespace tokend
