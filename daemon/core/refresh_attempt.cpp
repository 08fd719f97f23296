#include "core/refresh_attempt.h"

#include "core/provider_requests.h"
#include "core/retry_policy.h"
#include "core/url_encoding.h"

namespace tokend {
namespace {

// The tokens of a grant the provider refused: nothing usable is left, but the
// type and scope stay for whoever reads the context.
Tokens cleared_grant(const Tokens& tokens) {
    Tokens cleared;
    cleared.token_type = tokens.token_type;
    cleared.scope = tokens.scope;
    cleared.extra = tokens.extra;
    return cleared;
}

LogNote note(LogNote::Level level, std::string text) { return LogNote{level, std::move(text)}; }

}  // namespace

std::string_view to_string(RefreshEnding ending) {
    switch (ending) {
        case RefreshEnding::refreshed: return "refreshed";
        case RefreshEnding::adopted: return "adopted";
        case RefreshEnding::reauth: return "reauth";
        case RefreshEnding::retry: return "retry";
        case RefreshEnding::store_failed: return "store_failed";
        case RefreshEnding::gone: return "gone";
        case RefreshEnding::lease_busy: return "lease_busy";
        case RefreshEnding::unconfigured: return "unconfigured";
    }
    return "unknown";
}

std::optional<UserContext> stored_moved_on(const Tokens& base, std::string_view stored_text, const Tokens* own) {
    auto stored = user_context_from_json(stored_text);
    if (!stored || stored->tokens == base) return std::nullopt;
    if (own != nullptr && stored->tokens == *own) return std::nullopt;
    return std::move(stored).value();
}

RefreshAttempt::RefreshAttempt(const OAuthSettings& oauth, const RefreshPolicy& policy,
                               std::chrono::milliseconds request_timeout, double random_fraction)
    : oauth_(oauth),
      policy_(policy),
      lease_ttl_(request_timeout + std::chrono::milliseconds(kLeaseSlack)),
      random_fraction_(random_fraction) {}

RefreshAttempt::Step RefreshAttempt::begin(CachedUser cached, const UnsavedTokens* unsaved, bool configured,
                                           bool can_lock, Timestamp now) {
    if (stage_ != Stage::start || cached.context == nullptr) return out_of_order("begin");
    user_id_ = cached.context->user_id;
    if (!configured) return finish(RefreshEnding::unconfigured, "no OAuth integration is configured", cached, now);
    if (unsaved != nullptr) {
        write_only_ = true;
        base_ = unsaved->base;
        updated_ = *cached.context;
        updated_.tokens = unsaved->fresh;
        own_ = unsaved->fresh;
    } else {
        base_ = cached.context->tokens;
    }
    if (can_lock) {
        // Held from before the read until after the write: no other process
        // refreshes this grant in between (a rotating refresh token works once).
        stage_ = Stage::leasing;
        Step step;
        step.kind = Step::Kind::lease;
        step.lease_ttl = lease_ttl_;
        return step;
    }
    return write_only_ ? write() : ask_provider(cached, now);
}

RefreshAttempt::Step RefreshAttempt::on_leased(const LeasedRead& read, CachedUser cached, Timestamp now) {
    if (stage_ != Stage::leasing) return out_of_order("leased");
    switch (read.result) {
        case LeasedRead::Result::busy:
            if (cached.context != nullptr && !(cached.context->tokens == base_)) {
                // The lease holder's result reached the cache while we asked for
                // the lease, and rescheduled the user from it: a retry now would
                // refresh those new tokens a second time.
                return finish(RefreshEnding::adopted, "", cached, now);
            }
            return finish(RefreshEnding::lease_busy, "another process is refreshing", cached, now);
        case LeasedRead::Result::failed:
            return retry(finish(RefreshEnding::store_failed, "store: " + read.detail, cached, now), cached, std::nullopt);
        case LeasedRead::Result::absent:
            return finish(RefreshEnding::gone, "user context was cleared", cached, now);
        case LeasedRead::Result::read:
            break;
    }
    leased_ = true;
    fence_ = read.fence;
    if (auto stored = stored_moved_on(base_, read.text, own_ ? &*own_ : nullptr)) {
        // Refreshed (or set) by someone else since we read it: take theirs. The
        // write step compares again and adopts without writing.
        updated_ = std::move(stored).value();
        return write();
    }
    return write_only_ ? write() : ask_provider(cached, now);
}

RefreshAttempt::Step RefreshAttempt::ask_provider(CachedUser cached, Timestamp now) {
    stage_ = Stage::asking;
    if (cached.context == nullptr) return finish(RefreshEnding::gone, "user context was cleared", cached, now);
    if (!has_refresh_token(base_)) return dead_grant(*cached.context);
    Step step;
    step.kind = Step::Kind::http;
    FormFields grant = {{"grant_type", "refresh_token"}, {"refresh_token", base_.refresh_token->reveal()}};
    if (oauth_.provider.refresh_sends_scope) grant.emplace_back("scope", joined_scopes(oauth_));
    step.http = token_request(oauth_, std::move(grant));
    // Retries are the schedule's, with backoff: one request per attempt. Never
    // retried at once after a timeout, which may have spent a rotating token.
    step.http.retry_allowed = false;
    return step;
}

RefreshAttempt::Step RefreshAttempt::on_http_response(int status, std::string_view body, std::string_view retry_after,
                                                      std::string_view error, CachedUser cached, Timestamp now) {
    if (stage_ != Stage::asking) return out_of_order("HTTP response");
    if (cached.context == nullptr) return finish(RefreshEnding::gone, "user context was cleared", cached, now);
    const TokenEndpointAnswer answer = read_token_answer(oauth_.provider, status, body, now);
    if (answer.kind == TokenEndpointAnswer::Kind::tokens) {
        updated_ = *cached.context;
        updated_.tokens = merge_refreshed(base_, answer.tokens);
        Step step = write();
        if (oauth_.provider.rotating_refresh_tokens && !answer.tokens.refresh_token) {
            // The spent one is kept (as for any provider), but it may no longer work.
            step.notes.push_back(note(LogNote::Level::warn,
                                      "the refresh answer has no new refresh token, though this provider rotates them; "
                                      "the next refresh may find the grant dead"));
        }
        return step;
    }
    if (answer.kind == TokenEndpointAnswer::Kind::unusable) {
        Step step = finish(RefreshEnding::retry, "token endpoint answer unusable", cached, now);
        step.notes.push_back(note(LogNote::Level::warn, "refresh answer unusable: " + answer.reason));
        return retry(std::move(step), cached, std::nullopt);
    }
    // Only a well-formed OAuth error code is repeated (to the log and to callers).
    const std::string& code = answer.error;
    if (answer.kind == TokenEndpointAnswer::Kind::dead_grant) {
        Step step = dead_grant(*cached.context);
        const std::string why = code.empty() ? "HTTP " + std::to_string(status) : code;
        step.notes.insert(step.notes.begin(),
                          note(LogNote::Level::warn, "refresh refused (" + why + "): the grant is revoked or expired"));
        return step;
    }
    const std::string why = status == 0 ? std::string(error)
                                        : "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
    std::optional<std::chrono::milliseconds> server_delay;
    if (!retry_after.empty()) server_delay = parse_retry_after(retry_after, now);
    Step step = finish(RefreshEnding::retry, "token endpoint: " + why, cached, now);
    AttemptOutcome outcome;
    outcome.status = status;
    outcome.transport_error = status == 0;
    if (!is_retryable(outcome)) {
        // 4xx other than invalid_grant: our request or our client is wrong
        // (e.g. invalid_client after a secret rotation); retried slowly in case
        // the configuration is fixed by a reload.
        step.notes.push_back(note(LogNote::Level::error, "refresh failed: " + why +
                                                             " (not a passing failure: check the integration settings)"));
    }
    return retry(std::move(step), cached, server_delay);
}

RefreshAttempt::Step RefreshAttempt::dead_grant(const UserContext& cached) {
    reauth_ = true;
    updated_ = cached;
    updated_.tokens = cleared_grant(base_);
    return write();
}

RefreshAttempt::Step RefreshAttempt::write() {
    stage_ = Stage::writing;
    Step step;
    step.kind = Step::Kind::write;
    step.context = updated_;
    step.base = base_;
    step.own = own_;
    step.fenced = leased_;
    step.fence = fence_;
    return step;
}

RefreshAttempt::Step RefreshAttempt::on_written(const WriteResult& written, CachedUser cached, Timestamp now) {
    if (stage_ != Stage::writing) return out_of_order("written");
    using Written = WriteResult::Written;
    if (cached.context == nullptr || written.written == Written::absent) {
        return finish(RefreshEnding::gone, "user context was cleared", cached, now);
    }
    Step step;
    switch (written.written) {
        case Written::stored:
            step = finish(reauth_ ? RefreshEnding::reauth : RefreshEnding::refreshed, "", cached, now);
            step.remember = updated_;
            return step;
        case Written::moved_on:
            step = finish(RefreshEnding::adopted, "", cached, now);
            step.notes.push_back(
                note(LogNote::Level::info, "the store holds newer tokens (another process refreshed); taking them"));
            step.remember = written.stored;
            return step;
        case Written::fenced_out:
            // Our lease lapsed and another holder wrote: theirs is newer.
            step = finish(RefreshEnding::adopted, "", cached, now);
            step.notes.push_back(
                note(LogNote::Level::warn, "refreshed tokens not stored: the lease lapsed and another process wrote"));
            step.reload = true;
            return step;
        case Written::failed:
        case Written::absent:
            break;
    }
    if (reauth_) {
        // The grant is dead either way: say so at once, store it later.
        step = finish(RefreshEnding::reauth, "", cached, now);
        step.notes.push_back(note(LogNote::Level::error, "cannot store the revoked grant: " + written.detail));
        step.remember = updated_;
        return step;
    }
    step = finish(RefreshEnding::store_failed, "store: " + written.detail, cached, now);
    step.notes.push_back(note(LogNote::Level::error, "refreshed tokens could not be stored: " + written.detail +
                                                         "; kept unsaved, write retried"));
    step.unsaved = UnsavedTokens{base_, updated_.tokens};
    return retry(std::move(step), cached, std::nullopt);
}

// Every failure is tried again on the schedule, with backoff (a valid
// Retry-After wins), as long as the user is still there.
RefreshAttempt::Step RefreshAttempt::retry(Step step, CachedUser cached,
                                           std::optional<std::chrono::milliseconds> retry_after) {
    if (cached.context == nullptr) return step;
    step.retry_scheduled = true;
    step.failures = cached.failures + 1;
    step.try_again_in = refresh_retry_delay(policy_, static_cast<int>(step.failures), retry_after, random_fraction_);
    step.notes.push_back(note(LogNote::Level::info, "refresh attempt " + std::to_string(step.failures) +
                                                        " failed; next attempt in " +
                                                        std::to_string(step.try_again_in->count()) + " ms"));
    return step;
}

RefreshAttempt::Step RefreshAttempt::finish(RefreshEnding ending, std::string message, CachedUser cached,
                                            Timestamp now) {
    stage_ = Stage::done;
    Step step;
    step.kind = Step::Kind::finish;
    step.ending = ending;
    switch (ending) {
        case RefreshEnding::refreshed:
        case RefreshEnding::adopted:
            step.result = {RefreshStatus::refreshed, ""};
            break;
        case RefreshEnding::reauth:
            step.result = {RefreshStatus::reauth_required, "user " + user_id_ + " must authorize again"};
            break;
        case RefreshEnding::store_failed:
            step.result = {RefreshStatus::store_failed, std::move(message)};
            break;
        case RefreshEnding::gone:
            step.result = {RefreshStatus::not_found, std::move(message)};
            break;
        case RefreshEnding::lease_busy:
            // The current token still works: callers get it now rather than
            // wait for the other process (its result arrives as a store change).
            step.result = {RefreshStatus::provider_error, "another process is refreshing this token"};
            step.waiters_keep_waiting = cached.context != nullptr && !still_valid(cached.context->tokens, now);
            if (cached.context != nullptr) {
                step.try_again_in = kLeaseBusyRetry + std::chrono::milliseconds(static_cast<long>(500 * random_fraction_));
            }
            break;
        case RefreshEnding::unconfigured:
            step.result = {RefreshStatus::provider_error, std::move(message)};
            step.unschedule = true;
            break;
        case RefreshEnding::retry:
            step.result = {RefreshStatus::provider_error, std::move(message)};
            break;
    }
    return step;
}

RefreshAttempt::Step RefreshAttempt::out_of_order(const char* what) {
    Step step = finish(RefreshEnding::retry, std::string("internal error: out of order: ") + what, CachedUser{}, Timestamp{});
    step.notes.push_back(note(LogNote::Level::error, std::string("refresh attempt out of order: ") + what));
    return step;
}

}  // namespace tokend
