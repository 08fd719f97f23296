// tokenctl's options, exit codes and output: one envelope for --json, errors on
// stderr. The exit-code table here is the one documented (--help, tokenctl(1),
// docs/protocol.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tokenctl {

using Json = nlohmann::ordered_json;

enum Exit {
    kOk = 0,
    kTokendError = 1,       // internal, an unreadable answer, a flow that did not authenticate
    kUsage = 2,             // the caller's mistake: usage, a bad argument or file, bad_request, unknown_op
    kNotFound = 3,          // not_found
    kReauthRequired = 4,    // reauth_required
    kPermissionDenied = 5,  // permission_denied
    kUnavailable = 6,       // store_unavailable, provider_error, provider_unavailable: passing, try again later
    kConnection = 7,        // tokend cannot be reached (no socket, refused, timed out, connection lost)
};

// The table, as --help's footer prints it (help2man puts it into tokenctl(1)).
extern const char* const kExitCodeTable;

// The exit code of one of tokend's error codes.
int exit_for(const std::string& code);

struct Options {
    std::string socket;
    bool json = false;
    int timeout_s = 30;
    std::string integration;  // --integration: added to every request that names a user (and watch)
};

// Reports an error and exits with `exit_code`: with --json the envelope
// {"ok": false, "error": {"code", "message"}} on stderr, else "tokenctl: message".
// `code` is tokend's error code or tokenctl's own ("usage", "connection", "response").
[[noreturn]] void fail(const Options& options, int exit_code, const std::string& code, const std::string& message);

// A success: with --json the envelope {"ok": true, "result": result} on stdout,
// else `human` (if not empty) on stdout.
void print_ok(const Options& options, const Json& result, const std::string& human);

}  // namespace tokenctl
