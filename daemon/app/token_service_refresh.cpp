// Refreshing: one attempt per user at a time, started by the scheduler within
// the token-endpoint limits. With a store that has the lock capability (shared
// by several processes) an attempt holds the user's lease from before it reads
// the stored tokens until after it wrote the new ones, and writes with the
// lease's fencing token. The new tokens are stored before anyone receives them.
#include "app/token_service.h"

#include "app/random_source.h"
#include "core/text_template.h"
#include "core/url_encoding.h"

#include <spdlog/spdlog.h>

namespace tokend {
namespace {

// A refresh that meets another process's lease tries again this soon.
constexpr std::chrono::milliseconds kLeaseBusyRetry{1000};
// Slack on top of the provider timeout for the store calls around it.
constexpr std::chrono::seconds kLeaseSlack{15};

std::string oauth_error_code(const std::string& body) {
    const Json json = Json::parse(body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_string()) return json["error"].get<std::string>();
    return "";
}

bool retryable_status(int status) { return status == 0 || status == 429 || (status >= 500 && status != 501); }

// The tokens of a grant the provider refused: nothing usable is left, but the
// type and scope stay for whoever reads the context.
Tokens dead_grant(const Tokens& tokens) {
    Tokens cleared;
    cleared.token_type = tokens.token_type;
    cleared.scope = tokens.scope;
    cleared.extra = tokens.extra;
    return cleared;
}

std::string describe_deadline(std::optional<Timestamp> at) { return at ? format_iso8601(*at) : "none"; }

}  // namespace

enum class TokenService::Ending {
    refreshed,     // new tokens stored
    adopted,       // another process (or writer) had stored newer tokens
    reauth,        // the grant is dead
    retry,         // failed; tried again later on the schedule
    store_failed,  // the store refused; tried again later
    gone,          // the context was cleared meanwhile
    lease_busy,    // another process is refreshing; waiters keep waiting
    unconfigured,  // no OAuth integration
};

struct TokenService::Attempt {
    std::string user_id;
    Tokens base;             // the tokens being refreshed, as stored
    UserContext updated;     // what to store
    bool write_only = false;  // storing tokens a failed write left unsaved
    bool reauth = false;      // storing a dead grant
    bool leased = false;
    uint64_t fence = 0;
};

std::chrono::milliseconds TokenService::lease_ttl() const {
    return config_.integration.request_timeout + std::chrono::milliseconds(kLeaseSlack);
}

// A caller needs a refresh now: join the one in flight or queue one ahead of
// the schedule.
void TokenService::want_refresh(const std::string& user_id, RefreshWaiter waiter) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) {
        waiter({RefreshStatus::not_found, "no user context for user " + user_id});
        return;
    }
    if (draining_) {
        waiter({RefreshStatus::provider_error, "tokend is shutting down"});
        return;
    }
    Refresh& refresh = refreshing_[user_id];
    refresh.waiters.push_back(std::move(waiter));
    if (!refresh.running) scheduler_.request_now(it->second.id);
}

// The scheduler gave this user a token-endpoint slot.
void TokenService::run_refresh(uint32_t id) {
    const std::string* user = id < users_by_id_.size() ? users_by_id_[id] : nullptr;
    if (user == nullptr || draining_ || defer_refresh_for_write(*user)) {  // a write: rescheduled after it
        scheduler_.finished();
        return;
    }
    auto attempt = std::make_shared<Attempt>();
    attempt->user_id = *user;
    spdlog::debug("user {}: refresh attempt starting", attempt->user_id);
    refreshing_[attempt->user_id].running = true;
    track(+1);
    Cached& cached = contexts_.at(attempt->user_id);
    if (!config_.integration.configured) {
        end_attempt(attempt, Ending::unconfigured, "no OAuth integration is configured");
        return;
    }
    if (cached.unsaved) {
        attempt->write_only = true;
        attempt->base = cached.unsaved->base;
        attempt->updated = cached.context;
        attempt->updated.tokens = cached.unsaved->fresh;
    } else {
        attempt->base = cached.context.tokens;
    }
    begin_attempt(attempt);
}

void TokenService::begin_attempt(std::shared_ptr<Attempt> attempt) {
    if (!store_.can_lock()) {
        if (attempt->write_only) {
            commit(attempt);
        } else {
            ask_provider(attempt);
        }
        return;
    }
    struct Leased {
        StoreStatus status;
        uint64_t fence = 0;
        StoreStatus read;
        std::string text;
    };
    executor_.submit<Leased>(
        [this, user_id = attempt->user_id, ttl = lease_ttl()] {
            Leased leased;
            leased.status = store_.lock_acquire(Ns::user, user_id, ttl, &leased.fence);
            if (leased.status.ok()) {
                leased.read = store_.get(Ns::user, user_id, &leased.text);
                if (!leased.read.ok()) store_.lock_release(Ns::user, user_id, leased.fence);
            }
            return leased;
        },
        [this, attempt](Leased leased) {
            note_store(leased.status);
            if (leased.status.code == StoreCode::conflict) {
                end_attempt(attempt, Ending::lease_busy, "another process is refreshing");
                return;
            }
            if (!leased.status.ok() || (!leased.read.ok() && !leased.read.not_found())) {
                const StoreStatus& failed = leased.status.ok() ? leased.read : leased.status;
                note_store(failed);
                end_attempt(attempt, Ending::store_failed, "store: " + failed.describe());
                return;
            }
            if (leased.read.not_found()) {
                end_attempt(attempt, Ending::gone, "user context was cleared");
                return;
            }
            attempt->leased = true;
            attempt->fence = leased.fence;
            auto stored = user_context_from_json(std::string_view(leased.text));
            if (stored && !(stored->tokens == attempt->base)) {
                // Refreshed (or set) by someone else since we read it: take theirs.
                attempt->updated = std::move(stored).value();
                commit(attempt);  // compares again and adopts without writing
                return;
            }
            if (attempt->write_only) {
                commit(attempt);
            } else {
                ask_provider(attempt);
            }
        });
}

void TokenService::ask_provider(std::shared_ptr<Attempt> attempt) {
    auto current = contexts_.find(attempt->user_id);
    if (current == contexts_.end()) {
        end_attempt(attempt, Ending::gone, "user context was cleared");
        return;
    }
    if (!has_refresh_token(attempt->base)) {
        attempt->reauth = true;
        attempt->updated = current->second.context;
        attempt->updated.tokens = dead_grant(attempt->base);
        commit(attempt);
        return;
    }
    OutboundHttp request;
    request.method = "POST";
    request.url = oauth_.token_service;
    request.content_type = "application/x-www-form-urlencoded";
    request.body = Secret(form_encode(FormFields{{"grant_type", "refresh_token"},
                                                 {"client_id", oauth_.client_id},
                                                 {"client_secret", oauth_.client_secret.reveal()},
                                                 {"refresh_token", attempt->base.refresh_token->reveal()}}));
    // Retries are the schedule's, with backoff: one attempt per slot. Never
    // retried at once after a timeout, which may have spent a rotating token.
    request.retry_allowed = false;
    outbound_.send(request, [this, attempt](OutboundResult result) { on_provider_answer(attempt, std::move(result)); });
}

void TokenService::on_provider_answer(std::shared_ptr<Attempt> attempt, OutboundResult result) {
    auto current = contexts_.find(attempt->user_id);
    if (current == contexts_.end()) {
        end_attempt(attempt, Ending::gone, "user context was cleared");
        return;
    }
    const std::string& user_id = attempt->user_id;
    if (result.status == 200) {
        auto fresh = tokens_from_token_response(Json::parse(result.body, nullptr, false), clock_.now());
        if (fresh) {
            attempt->updated = current->second.context;
            attempt->updated.tokens = merge_refreshed(attempt->base, *fresh);
            commit(attempt);
            return;
        }
        spdlog::warn("user {}: refresh answer unusable: {}", user_id, fresh.error());
        retry_later(current->second, std::nullopt);
        end_attempt(attempt, Ending::retry, "token endpoint answer unusable");
        return;
    }
    const std::string code = oauth_error_code(result.body);
    if (code == "invalid_grant") {
        spdlog::warn("user {}: refresh refused (invalid_grant): the grant is revoked or expired", user_id);
        attempt->reauth = true;
        attempt->updated = current->second.context;
        attempt->updated.tokens = dead_grant(attempt->base);
        commit(attempt);
        return;
    }
    const std::string why = result.status == 0 ? result.error
                                               : "HTTP " + std::to_string(result.status) + (code.empty() ? "" : " " + code);
    std::optional<std::chrono::milliseconds> retry_after;
    if (!result.retry_after.empty()) retry_after = parse_retry_after(result.retry_after, clock_.now());
    if (!retryable_status(result.status)) {
        // 4xx other than invalid_grant: our request or our client is wrong
        // (e.g. invalid_client after a secret rotation); retried slowly in case
        // the configuration is fixed by a reload.
        spdlog::error("user {}: refresh failed: {} (not a passing failure: check the integration settings)", user_id, why);
    }
    retry_later(current->second, retry_after);
    end_attempt(attempt, Ending::retry, "token endpoint: " + why);
}

// Stores attempt->updated unless the stored tokens moved on since
// attempt->base was read, in which case the stored ones are taken instead.
void TokenService::commit(std::shared_ptr<Attempt> attempt) {
    enum class Written { stored, changed, gone, fenced_out, failed };
    struct Commit {
        Written written = Written::failed;
        StoreStatus status;
        std::optional<UserContext> stored;
    };
    const std::string text = to_stored_text(attempt->updated);
    executor_.submit<Commit>(
        [this, attempt, text] {
            Commit commit;
            std::string current;
            commit.status = store_.get(Ns::user, attempt->user_id, &current);
            if (commit.status.not_found()) {
                commit.written = Written::gone;
            } else if (commit.status.ok()) {
                auto stored = user_context_from_json(std::string_view(current));
                if (stored && !(stored->tokens == attempt->base)) {
                    commit.written = Written::changed;
                    commit.stored = std::move(stored).value();
                } else {
                    commit.status = attempt->leased
                                        ? store_.put_fenced(Ns::user, attempt->user_id, text, attempt->fence)
                                        : store_.put(Ns::user, attempt->user_id, text);
                    commit.written = commit.status.ok()                         ? Written::stored
                                     : commit.status.code == StoreCode::conflict ? Written::fenced_out
                                                                                 : Written::failed;
                }
            }
            if (attempt->leased) store_.lock_release(Ns::user, attempt->user_id, attempt->fence);
            return commit;
        },
        [this, attempt](Commit commit) {
            note_store(commit.status);
            const std::string& user_id = attempt->user_id;
            if (contexts_.find(user_id) == contexts_.end() || commit.written == Written::gone) {
                end_attempt(attempt, Ending::gone, "user context was cleared");
                return;
            }
            switch (commit.written) {
                case Written::stored:
                    remember(attempt->updated, clock_.now());
                    end_attempt(attempt, attempt->reauth ? Ending::reauth : Ending::refreshed, "");
                    return;
                case Written::changed:
                    spdlog::info("user {}: the store holds newer tokens (another process refreshed); taking them",
                                 user_id);
                    remember(*commit.stored, clock_.now());
                    end_attempt(attempt, Ending::adopted, "");
                    return;
                case Written::fenced_out:
                    // Our lease lapsed and another holder wrote: theirs is newer.
                    spdlog::warn("user {}: refreshed tokens not stored: the lease lapsed and another process wrote",
                                 user_id);
                    reload_user(user_id);
                    end_attempt(attempt, Ending::adopted, "");
                    return;
                case Written::failed:
                case Written::gone:
                    break;
            }
            Cached& cached = contexts_.at(user_id);
            if (attempt->reauth) {
                // The grant is dead either way; say so at once, store it later.
                spdlog::error("user {}: cannot store the revoked grant: {}", user_id, commit.status.describe());
                remember(attempt->updated, clock_.now());
                end_attempt(attempt, Ending::reauth, "");
                return;
            }
            spdlog::error("user {}: refreshed tokens could not be stored: {}; kept unsaved, write retried",
                          user_id, commit.status.describe());
            cached.unsaved = std::make_unique<UnsavedTokens>(UnsavedTokens{attempt->base, attempt->updated.tokens});
            ++counters_.refresh_store_failures;
            retry_later(cached, std::nullopt);
            end_attempt(attempt, Ending::store_failed, "store: " + commit.status.describe());
        });
}

void TokenService::retry_later(Cached& cached, std::optional<std::chrono::milliseconds> retry_after) {
    ++cached.failures;
    ++counters_.refreshes_retried;
    const auto delay = refresh_retry_delay(config_.refresh.policy, static_cast<int>(cached.failures), retry_after,
                                           random_fraction());
    scheduler_.set(cached.id, clock_.now() + delay);
    spdlog::info("user {}: refresh attempt {} failed; next attempt in {} ms", cached.context.user_id, cached.failures,
                 delay.count());
}

void TokenService::end_attempt(std::shared_ptr<Attempt> attempt, Ending ending, std::string message) {
    const std::string& user_id = attempt->user_id;
    auto cached = contexts_.find(user_id);
    RefreshOutcome outcome{RefreshStatus::provider_error, message};
    switch (ending) {
        case Ending::refreshed:
            ++counters_.refreshes_succeeded;
            spdlog::info("user {}: token refreshed, valid until {}; next refresh {}", user_id,
                         describe_deadline(attempt->updated.tokens.expires_at),
                         describe_deadline(scheduler_.deadline_of(cached->second.id)));
            publish("token_refreshed", user_id);
            outcome = {RefreshStatus::refreshed, ""};
            break;
        case Ending::adopted:
            ++counters_.refreshes_adopted;
            outcome = {RefreshStatus::refreshed, ""};
            break;
        case Ending::reauth:
            ++counters_.reauth_required;
            publish("reauth_required", user_id);
            tell_reauth(user_id);
            outcome = {RefreshStatus::reauth_required, "user " + user_id + " must authorize again"};
            break;
        case Ending::retry:
            ++counters_.refreshes_failed;
            break;
        case Ending::store_failed:
            ++counters_.refreshes_failed;
            outcome = {RefreshStatus::store_failed, message};
            if (cached != contexts_.end() && !cached->second.unsaved) retry_later(cached->second, std::nullopt);
            break;
        case Ending::gone:
            forget(user_id);
            outcome = {RefreshStatus::not_found, message};
            break;
        case Ending::lease_busy:
            if (cached != contexts_.end()) {
                const auto wait = kLeaseBusyRetry + std::chrono::milliseconds(static_cast<long>(500 * random_fraction()));
                scheduler_.set(cached->second.id, clock_.now() + wait);
            }
            break;
        case Ending::unconfigured:
            if (cached != contexts_.end()) scheduler_.cancel(cached->second.id);
            break;
    }
    if (auto refresh = refreshing_.find(user_id); refresh != refreshing_.end()) refresh->second.running = false;
    const bool keep_waiting = ending == Ending::lease_busy && cached != contexts_.end() &&
                              !still_valid(cached->second.context.tokens, clock_.now());
    if (ending == Ending::lease_busy && !keep_waiting) {
        // The current token still works: callers get it now rather than wait
        // for the other process (its result arrives as a store change).
        complete_refresh(user_id, {RefreshStatus::provider_error, "another process is refreshing this token"});
    } else if (ending != Ending::lease_busy) {
        complete_refresh(user_id, outcome);
    } else if (auto refresh = refreshing_.find(user_id); refresh != refreshing_.end() && refresh->second.waiters.empty()) {
        refreshing_.erase(refresh);
    }
    // Last: freeing the slot may start the next refresh (even this user's).
    scheduler_.finished();
    track(-1);
}

void TokenService::complete_refresh(const std::string& user_id, const RefreshOutcome& outcome) {
    auto node = refreshing_.extract(user_id);
    if (node.empty()) return;
    for (auto& waiter : node.mapped().waiters) waiter(outcome);
}

// tell_reauth (the re-auth message, with an auth link) is in token_service_links.cpp.

}  // namespace tokend
