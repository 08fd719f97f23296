#include "app/user_contexts.h"

#include "core/flow_start.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tokend {
namespace {

constexpr uint32_t kDefaultListLimit = 100;
constexpr uint32_t kMaxListLimit = 1000;

template <typename T>
OpResult<T> store_failure(const StoreStatus& status) {
    return OpResult<T>::failure(ErrorCode::store_unavailable, "store: " + status.describe());
}

}  // namespace

UserContexts::UserContexts(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler,
                           Refresher& refresher)
    : runtime_(runtime), cache_(cache), scheduler_(scheduler), refresher_(refresher) {}

bool UserContexts::backing_off(const ContextCache::Cached& cached, Timestamp now) const {
    const auto next_try = scheduler_.deadline_of(cached.id);
    return cached.failures > 0 && next_try && *next_try > now;
}

void UserContexts::get_token(const std::string& user_id, OpCallback<TokenAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, "no user context for user " + user_id));
        return;
    }
    const Tokens& tokens = cached->context.tokens;
    const Timestamp now = runtime_.now();
    if (usable_without_refresh(tokens, now, runtime_.config().refresh.policy)) {
        answer_token(*cached, done);  // the hot path: memory only
        return;
    }
    if (!has_refresh_token(tokens)) {
        if (still_valid(tokens, now)) {
            answer_token(*cached, done);
        } else {
            done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, "user " + user_id + " must authorize again"));
        }
        return;
    }
    // Refreshes are failing and the next try is scheduled: no extra attempt per
    // read (the backoff protects the provider); the current token while it lasts.
    if (backing_off(*cached, now) && !refresher_.wanted(user_id)) {
        if (still_valid(tokens, now)) {
            answer_token(*cached, done);
        } else {
            done(OpResult<TokenAnswer>::failure(
                ErrorCode::provider_error, "refreshing the token of user " + user_id +
                                               " keeps failing; next attempt at " +
                                               format_iso8601(*scheduler_.deadline_of(cached->id))));
        }
        return;
    }
    refresher_.want(user_id, [this, user_id, done = std::move(done)](const RefreshResult& result) {
        answer_after_refresh(user_id, result, false, done);
    });
}

void UserContexts::refresh(const std::string& user_id, OpCallback<TokenAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, "no user context for user " + user_id));
        return;
    }
    if (!has_refresh_token(cached->context.tokens)) {
        done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, "user " + user_id + " has no refresh token"));
        return;
    }
    refresher_.want(user_id, [this, user_id, done = std::move(done)](const RefreshResult& result) {
        answer_after_refresh(user_id, result, true, done);
    });
}

// strict: report a failed refresh even when the current token still works (the
// explicit refresh operation).
void UserContexts::answer_after_refresh(const std::string& user_id, const RefreshResult& result, bool strict,
                                        const OpCallback<TokenAnswer>& done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    const bool valid = cached != nullptr && still_valid(cached->context.tokens, runtime_.now());
    switch (result.status) {
        case RefreshStatus::refreshed:
            if (valid) {
                answer_token(*cached, done);
            } else {
                done(OpResult<TokenAnswer>::failure(ErrorCode::provider_error, "the refreshed token is already expired"));
            }
            return;
        case RefreshStatus::reauth_required:
            done(OpResult<TokenAnswer>::failure(ErrorCode::reauth_required, result.message));
            return;
        case RefreshStatus::not_found:
            done(OpResult<TokenAnswer>::failure(ErrorCode::not_found, result.message));
            return;
        case RefreshStatus::provider_error:
        case RefreshStatus::store_failed:
            // A passing failure: the current token still works, so hand it out.
            if (valid && !strict) {
                answer_token(*cached, done);
                return;
            }
            done(OpResult<TokenAnswer>::failure(result.status == RefreshStatus::store_failed
                                                    ? ErrorCode::store_unavailable
                                                    : ErrorCode::provider_error,
                                                result.message));
            return;
    }
}

void UserContexts::answer_token(const ContextCache::Cached& cached, const OpCallback<TokenAnswer>& done) {
    const Tokens& tokens = cached.context.tokens;
    done(OpResult<TokenAnswer>::success({cached.context.user_id, *tokens.access_token, tokens.expires_at}));
}

void UserContexts::get(const std::string& user_id, bool refresh, bool include_refresh_token,
                       OpCallback<ContextAnswer> done) {
    const ContextCache::Cached* cached = cache_.find(user_id);
    if (cached == nullptr) {
        done(OpResult<ContextAnswer>::success({std::nullopt, include_refresh_token}));
        return;
    }
    const Timestamp now = runtime_.now();
    const Tokens& tokens = cached->context.tokens;
    const bool needs = refresh && has_refresh_token(tokens) && !backing_off(*cached, now) &&
                       !usable_without_refresh(tokens, now, runtime_.config().refresh.policy);
    if (needs && !still_valid(tokens, now)) {
        // Expired or absent: refresh before answering, as the original did.
        refresher_.want(user_id, [this, user_id, include_refresh_token, done = std::move(done)](const RefreshResult&) {
            const ContextCache::Cached* again = cache_.find(user_id);
            done(OpResult<ContextAnswer>::success(
                {again == nullptr ? std::nullopt : std::optional<UserContext>(again->context), include_refresh_token}));
        });
        return;
    }
    done(OpResult<ContextAnswer>::success({cached->context, include_refresh_token}));
    if (needs) refresher_.want(user_id, [](const RefreshResult&) {});  // nearly expired: refresh behind the answer
}

void UserContexts::set(const std::string& user_id, const Json& user_context, OpCallback<ContextWritten> done) {
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (user_context.is_null()) {
        runtime_.on_store<StoreStatus>(
            [this, user_id] { return runtime_.store().del(Ns::user, user_id); },
            [this, user_id, done = std::move(done)](StoreStatus status) {
                if (!status.ok()) {
                    done(store_failure<ContextWritten>(status));
                    return;
                }
                const bool existed = cache_.find(user_id) != nullptr;
                cache_.forget(user_id);
                if (existed) runtime_.publish("context_cleared", user_id);
                refresher_.on_cleared(user_id);
                spdlog::info("user {}: context cleared", user_id);
                done(OpResult<ContextWritten>::success({true, existed}));
            });
        return;
    }
    auto parsed = user_context_from_json(user_context);
    if (!parsed) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, "user_context: " + parsed.error()));
        return;
    }
    if (parsed->user_id != user_id) {
        done(OpResult<ContextWritten>::failure(ErrorCode::bad_request, "user_context.user_id differs from user_id"));
        return;
    }
    auto context = std::make_shared<UserContext>(std::move(parsed).value());
    runtime_.on_store<StoreStatus>(
        [this, context] { return runtime_.store().put(Ns::user, context->user_id, to_stored_text(*context)); },
        [this, context, done = std::move(done)](StoreStatus status) {
            if (!status.ok()) {
                done(store_failure<ContextWritten>(status));
                return;
            }
            cache_.remember(*context, runtime_.now());
            runtime_.publish("context_set", context->user_id);
            spdlog::info("user {}: context set", context->user_id);
            done(OpResult<ContextWritten>::success({false, false}));
        });
}

void UserContexts::list(const std::string& cursor, uint32_t limit, OpCallback<UsersPage> done) {
    if (limit == 0) limit = kDefaultListLimit;
    limit = std::min(limit, kMaxListLimit);
    struct Listed {
        StoreStatus status;
        StorePage page;
    };
    runtime_.on_store<Listed>(
        [this, cursor, limit] {
            Listed listed;
            listed.status = runtime_.store().list(Ns::user, cursor, limit, &listed.page);
            return listed;
        },
        [done = std::move(done)](Listed listed) {
            if (!listed.status.ok()) {
                done(store_failure<UsersPage>(listed.status));
                return;
            }
            done(OpResult<UsersPage>::success({std::move(listed.page.keys), std::move(listed.page.next_cursor)}));
        });
}

}  // namespace tokend
