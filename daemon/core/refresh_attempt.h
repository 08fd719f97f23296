// One attempt at refreshing one user's tokens, as a state machine with no I/O
// (the example is RedirectFlow): take the user's store lease, read what is
// stored under it and compare, ask the token endpoint, classify its answer
// (new tokens, a dead grant, or a failure worth a retry, with Retry-After),
// write under the lease's fence, and end with an outcome that says what the
// cache, the schedule and the waiting callers do next. Each call returns the
// next Step for the edge (app/refresher.cpp) to carry out; the edge feeds the
// result back with the current time and the user's cached context as it is
// then (nullptr once cleared).
//
// Single flight, the token-endpoint gate and the cache stay at the edge; every
// decision that can be made from values alone is made here.
#pragma once

#include "core/oauth_settings.h"
#include "core/redirect_flow.h"
#include "core/refresh_policy.h"
#include "core/user_context.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// How an attempt ended.
enum class RefreshEnding {
    refreshed,     // new tokens stored
    adopted,       // another process (or writer) had stored newer tokens
    reauth,        // the grant is dead
    retry,         // the provider failed; tried again later on the schedule
    store_failed,  // the store refused; tried again later
    gone,          // the context was cleared meanwhile
    lease_busy,    // another process is refreshing; tried again shortly
    unconfigured,  // no OAuth integration
};
std::string_view to_string(RefreshEnding ending);

// What callers waiting for a refresh hear.
// provider_unavailable: no attempt was made, the provider's settings are not known yet
// (the oidc preset before its discovery document is read).
enum class RefreshStatus { refreshed, reauth_required, provider_error, store_failed, not_found, provider_unavailable };
struct RefreshResult {
    RefreshStatus status = RefreshStatus::provider_error;
    std::string message;  // for people; never a secret
};

// New tokens from the provider that the store has not taken yet: never handed
// out, written again on the schedule.
struct UnsavedTokens {
    Tokens base;  // what they were refreshed from
    Tokens fresh;
};

// A line for the operator's log; the edge prefixes "user <id>: ". Never a secret.
struct LogNote {
    enum class Level { debug, info, warn, error };
    Level level = Level::info;
    std::string text;
};

// What the lease step found: the lease (held, busy with another process, or
// the store failed) and, when held, the user's stored context read under it.
struct LeasedRead {
    enum class Result { read, absent, busy, failed };
    Result result = Result::failed;
    uint64_t fence = 0;  // read: the lease's fencing token
    std::string text;    // read: the stored context
    std::string detail;  // failed: the store's description
};

// The stored context, if its tokens are no longer `base` (someone else wrote
// since the attempt read them); nullopt when they still are or the text is
// unreadable (then the attempt's write replaces it). Pure and thread-safe: the
// edge calls it on the executor between the read and the write, so that the
// comparison and the write are one store visit. `own`: tokens a failed write
// of ours may have stored all the same (a Redis WAIT that timed out after the
// write); found stored, they are not another writer's, and the attempt writes
// them again, so the store's answer says whether they are durable now.
std::optional<UserContext> stored_moved_on(const Tokens& base, std::string_view stored_text,
                                           const Tokens* own = nullptr);

// What the write step did.
struct WriteResult {
    enum class Written { stored, moved_on, absent, fenced_out, failed };
    Written written = Written::failed;
    std::optional<UserContext> stored;  // moved_on: what the store holds
    std::string detail;                 // failed: the store's description
};

// The user as the cache holds them when the attempt begins or a result comes back.
struct CachedUser {
    const UserContext* context = nullptr;  // nullptr: cleared meanwhile
    uint32_t failures = 0;                 // refresh attempts failed in a row
};

class RefreshAttempt {
public:
    struct Step {
        enum class Kind {
            lease,   // take the user's lease for lease_ttl, then read the stored context (a LeasedRead)
            http,    // send `http` to the token endpoint
            write,   // re-read, and unless stored_moved_on(base, ..., own) write `context` (fenced when `fenced`),
                     // then release the lease if held (a WriteResult)
            finish,  // the attempt is over
        };
        Kind kind = Kind::finish;
        std::vector<LogNote> notes;  // to log before carrying the step out

        std::chrono::milliseconds lease_ttl{0};  // lease
        OutboundHttp http;                       // http
        UserContext context;                     // write
        Tokens base;                             // write
        std::optional<Tokens> own;               // write: unsaved tokens of ours, written again if found stored
        bool fenced = false;                     // write: held under a lease
        uint64_t fence = 0;                      // write, when fenced (also released)

        // finish: what happens next.
        RefreshEnding ending = RefreshEnding::retry;
        RefreshResult result;               // for the callers waiting for this refresh
        bool waiters_keep_waiting = false;  // lease_busy with an expired token: the other process's result will come
        std::optional<UserContext> remember;  // take into the cache (failures reset, rescheduled)
        std::optional<UnsavedTokens> unsaved;  // keep these for the next attempt to write
        bool reload = false;                   // read the user from the store again
        bool unschedule = false;               // take the user off the schedule
        // A failed attempt followed by a retry: the user's failures in a row
        // are now `failures`, and the next attempt is due after `try_again_in`.
        bool retry_scheduled = false;
        uint32_t failures = 0;
        // Set with retry_scheduled, and for lease_busy (not a failure): reschedule at now + this.
        std::optional<std::chrono::milliseconds> try_again_in;
    };

    // A refresh that meets another process's lease tries again after this plus
    // up to half a second of jitter.
    static constexpr std::chrono::milliseconds kLeaseBusyRetry{1000};
    // Slack on top of the provider timeout for the store calls around it.
    static constexpr std::chrono::seconds kLeaseSlack{15};

    // `random_fraction` in [0, 1] is the attempt's one random draw (for the
    // retry backoff or the lease-busy wait). `oauth` and `policy` must outlive
    // the attempt.
    RefreshAttempt(const OAuthSettings& oauth, const RefreshPolicy& policy, std::chrono::milliseconds request_timeout,
                   double random_fraction);

    // `cached` is the user as cached now (its context must be set), `unsaved`
    // tokens a failed write left (nullptr: none); `can_lock`: the store has
    // leases (it is shared by several processes).
    Step begin(CachedUser cached, const UnsavedTokens* unsaved, bool configured, bool can_lock, Timestamp now);
    Step on_leased(const LeasedRead& read, CachedUser cached, Timestamp now);
    // The token endpoint's answer (status 0: none; `error` says why), with its
    // Retry-After header if any.
    Step on_http_response(int status, std::string_view body, std::string_view retry_after, std::string_view error,
                          CachedUser cached, Timestamp now);
    Step on_written(const WriteResult& written, CachedUser cached, Timestamp now);

    const std::string& user_id() const { return user_id_; }
    // What the attempt writes (or wrote): valid from the write step on.
    const UserContext& updated() const { return updated_; }

private:
    enum class Stage { start, leasing, asking, writing, done };

    Step ask_provider(CachedUser cached, Timestamp now);
    Step write();
    Step dead_grant(const UserContext& cached);
    Step finish(RefreshEnding ending, std::string message, CachedUser cached, Timestamp now);
    Step retry(Step step, CachedUser cached, std::optional<std::chrono::milliseconds> retry_after);
    Step out_of_order(const char* what);

    const OAuthSettings& oauth_;
    const RefreshPolicy& policy_;
    std::chrono::milliseconds lease_ttl_;
    double random_fraction_;
    Stage stage_ = Stage::start;
    std::string user_id_;
    Tokens base_;             // the tokens being refreshed, as stored
    UserContext updated_;     // what to store
    bool write_only_ = false;  // storing tokens a failed write left unsaved
    std::optional<Tokens> own_;  // write_only_: those tokens
    bool reauth_ = false;      // storing a dead grant
    bool leased_ = false;
    uint64_t fence_ = 0;
};

}  // namespace tokend
