// The control operations on users' contexts: get_token and refresh (answered
// from the cache; the refresh policy decides when a read waits for the user's
// refresh), get_user_context, set_user_context (a write, or a clear, then the
// cache) and list_users (a page from the store). Loop thread only.
#pragma once

#include "app/context_cache.h"
#include "app/op_result.h"
#include "app/refresh_scheduler.h"
#include "app/refresher.h"
#include "app/service_runtime.h"

#include <cstdint>
#include <string>

namespace tokend {

class UserContexts {
public:
    UserContexts(ServiceRuntime& runtime, ContextCache& cache, RefreshScheduler& scheduler, Refresher& refresher);

    void get_token(const std::string& user_id, OpCallback<TokenAnswer> done);
    void refresh(const std::string& user_id, OpCallback<TokenAnswer> done);
    // include_refresh_token: the caller may see refresh tokens.
    void get(const std::string& user_id, bool refresh, bool include_refresh_token, OpCallback<ContextAnswer> done);
    // `user_context` as the caller sent it: an object, or null to clear.
    void set(const std::string& user_id, const Json& user_context, OpCallback<ContextWritten> done);
    void list(const std::string& cursor, uint32_t limit, OpCallback<UsersPage> done);

private:
    void answer_token(const ContextCache::Cached& cached, const OpCallback<TokenAnswer>& done);
    void answer_after_refresh(const std::string& user_id, const RefreshResult& result, bool strict,
                              const OpCallback<TokenAnswer>& done);
    // Whether failed refreshes wait for their next scheduled try (no extra attempt per read).
    bool backing_off(const ContextCache::Cached& cached, Timestamp now) const;

    ServiceRuntime& runtime_;
    ContextCache& cache_;
    RefreshScheduler& scheduler_;
    Refresher& refresher_;
};

}  // namespace tokend
