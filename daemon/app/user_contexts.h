// The control operations on users' contexts: get_token and refresh (answered
// from the cache; the refresh policy decides when a read waits for the user's
// refresh), get_user_context, set_user_context (a grant-safe write decided by
// core/context_write against what is stored, or a clear, then the cache) and
// list_users (a page from the store). Loop thread only.
#pragma once

#include "app/context_cache.h"
#include "app/op_result.h"
#include "app/refresh_scheduler.h"
#include "app/refresher.h"
#include "app/service_runtime.h"

#include "core/context_write.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace tokend {

class UserContexts {
public:
    UserContexts(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler, Refresher& refresher);

    void get_token(std::string_view user_id, OpCallback<TokenAnswer> done);
    // get_token's answer when it needs no refresh (the hot path, without a
    // callback): views into the cache, good until it changes. nullopt: ask get_token.
    std::optional<TokenAnswer> token_now(std::string_view user_id) const;
    void refresh(const std::string& user_id, OpCallback<TokenAnswer> done);
    // include_refresh_token: the caller may see refresh tokens.
    void get(const std::string& user_id, bool refresh, bool include_refresh_token, OpCallback<ContextAnswer> done);
    // `user_context` as the caller sent it: an object, or null to clear.
    void set(const std::string& user_id, const Json& user_context, ContextWriteFlags flags,
             OpCallback<ContextWritten> done);
    // Clears the user's context (the store, then the cache); `done` also gets
    // the tokens the cache held at that moment (nullopt: none), for a sign-out
    // to revoke. It first waits for the user's refresh in flight and for the
    // writes ahead of it, so those tokens are the latest (single flight).
    using ClearDone = std::function<void(OpResult<ContextWritten>, std::optional<Tokens> last)>;
    void clear(const std::string& user_id, ClearDone done);
    // Whether a set_user_context or clear of this user is being stored (a refresh of
    // the user that comes due meanwhile waits for it).
    bool writing(const std::string& user_id) const { return writes_in_flight_.count(user_id) > 0; }
    void list(const std::string& cursor, uint32_t limit, OpCallback<UsersPage> done);

private:
    static TokenAnswer answer_of(const ContextCache::Cached& cached);
    void answer_token(const ContextCache::Cached& cached, const OpCallback<TokenAnswer>& done);
    void answer_after_refresh(const std::string& user_id, const RefreshResult& result, bool strict,
                              const OpCallback<TokenAnswer>& done);
    // Whether failed refreshes wait for their next scheduled try (no extra attempt per read).
    bool backing_off(const ContextCache::Cached& cached, Timestamp now) const;
    void write(std::shared_ptr<UserContext> written, ContextWriteFlags flags, OpCallback<ContextWritten> done);
    // A write or clear of the user was stored: the ones queued behind it, taken out.
    std::deque<std::function<void()>> end_write(const std::string& user_id);

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    RefreshScheduler& scheduler_;
    Refresher& refresher_;
    // A set_user_context or clear being stored, per user: later ones of the
    // same user wait here, in order, and are decided against its result.
    std::unordered_map<std::string, std::deque<std::function<void()>>> writes_in_flight_;
};

}  // namespace tokend
