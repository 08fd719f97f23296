// The outcome of one service operation: a typed value, or a protocol error
// code and a message. The control handler turns it into a response line; the
// service itself never builds protocol JSON.
#pragma once

#include "core/context_write.h"
#include "core/control_protocol.h"
#include "core/flow_sweep.h"
#include "core/grant_revocation.h"
#include "core/html_page.h"
#include "core/iso_time.h"
#include "core/secret.h"
#include "core/user_context.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tokend {

template <typename T>
class OpResult {
public:
    static OpResult success(T value) {
        OpResult result;
        result.value_ = std::move(value);
        return result;
    }
    static OpResult failure(ErrorCode code, std::string message) {
        OpResult result;
        result.code_ = code;
        result.message_ = std::move(message);
        return result;
    }

    bool ok() const { return value_.has_value(); }
    const T& value() const { return *value_; }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }  // for people; never a secret

private:
    std::optional<T> value_;
    ErrorCode code_ = ErrorCode::internal;
    std::string message_;
};

template <typename T>
using OpCallback = std::function<void(OpResult<T>)>;

// start_flow: where to send the user.
struct FlowLink {
    std::string flow_id;
    std::string auth_url;
    Timestamp expires_at;
};

// get_token and refresh: views into the cached context, good while the
// callback runs (it writes the answer at once; nothing copies the token).
struct TokenAnswer {
    std::string_view user_id;
    SecretView access_token;
    std::optional<Timestamp> expires_at;
};

// get_user_context: nullopt when there is none.
struct ContextAnswer {
    std::optional<UserContext> context;
    bool include_refresh_token = false;  // the caller may see it
};

// set_user_context: stored (what became of the tokens and of the refresh
// token, core/context_write.h), or (given null) cleared.
struct ContextWritten {
    bool cleared = false;  // it was a clear
    bool existed = false;  // a clear found a context to clear
    TokensWritten tokens = TokensWritten::written;                // not a clear
    RefreshTokenWritten refresh_token = RefreshTokenWritten::none;  // not a clear
    ContextChange change = ContextChange::created;                  // not a clear
    bool dry_run = false;                                           // decided, nothing stored
};

// auth_link: a signed link that starts a flow when opened (core/auth_link.h).
struct SignedLink {
    std::string url;
    Timestamp expires_at;
};

// GET /auth (an auth link opened): a redirect to the provider (location set)
// or a page that says why not.
struct LinkAnswer {
    std::string location;
    HtmlPage page;
};

// list_users: a page of user ids; next is empty on the last page.
struct UsersPage {
    std::vector<std::string> users;
    std::string next;
};

// sign_out: the local clear and the revocation at the provider.
struct SignedOut {
    bool cleared = false;     // there was a context, and it is gone
    bool revoke = true;       // revocation was asked for
    RevocationAnswer revocation;
    std::string revoked_hint;  // revoked: which token ("refresh_token" or "access_token")
};

// grant_status.
struct GrantStatusAnswer {
    std::string user_id;
    std::string integration;  // its name ("default" for the `integration:` section)
    std::string provider;  // the profile's (preset's) name
    GrantStatus status;
};

// flow_maintenance.
struct FlowSweep {
    bool ran = false;
    std::vector<SweptFlow> deleted;
};

}  // namespace tokend
