#include "output.h"

#include <cstdlib>
#include <iostream>

namespace tokenctl {

const char* const kExitCodeTable =
    "Exit codes:\n"
    "  0  ok\n"
    "  1  another error of tokend (internal), an unreadable answer, a flow that did not authenticate,\n"
    "     a sign-out whose revocation at the provider failed (the context is cleared)\n"
    "  2  the caller's mistake: usage, unknown command or option, a bad argument, cursor or file\n"
    "     (tokend's bad_request, unknown_op); trying again will not help\n"
    "  3  not_found: no context for that user\n"
    "  4  reauth_required: the user must authorize again\n"
    "  5  permission_denied\n"
    "  6  store_unavailable, provider_error or provider_unavailable: a passing failure, try again later\n"
    "  7  tokend cannot be reached (no socket, refused, timed out, connection lost)";

int exit_for(const std::string& code) {
    if (code == "not_found") return kNotFound;
    if (code == "reauth_required") return kReauthRequired;
    if (code == "permission_denied") return kPermissionDenied;
    if (code == "store_unavailable" || code == "provider_error" || code == "provider_unavailable") return kUnavailable;
    if (code == "bad_request" || code == "unknown_op") return kUsage;
    return kTokendError;
}

void fail(const Options& options, int exit_code, const std::string& code, const std::string& message) {
    std::cout.flush();
    if (options.json) {
        Json envelope = {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
        std::cerr << envelope.dump(-1, ' ', false, Json::error_handler_t::replace) << std::endl;
    } else {
        std::cerr << "tokenctl: " << message << std::endl;
    }
    std::exit(exit_code);
}

void print_ok(const Options& options, const Json& result, const std::string& human) {
    if (options.json) {
        std::cout << Json{{"ok", true}, {"result", result}}.dump(-1, ' ', false, Json::error_handler_t::replace)
                  << "\n";
    } else if (!human.empty()) {
        std::cout << human << "\n";
    }
}

}  // namespace tokenctl
