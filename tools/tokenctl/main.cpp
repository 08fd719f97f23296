// tokenctl: tokend's control protocol from the command line, built on the
// public C client library (tokend/client.h).
#include <tokend/client.h>

#include "core/json_limits.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

namespace {

using Json = nlohmann::ordered_json;
using tokend::kMaxJsonDepth;
using tokend::parse_bounded_json;

// Exit codes, documented in --help and docs/tokenctl.md.
enum Exit {
    kOk = 0,
    kTokendError = 1,      // an error not listed below
    kUsage = 2,            // bad arguments (CLI11 uses 2 as well... and 105+ for its own)
    kNotFound = 3,
    kReauthRequired = 4,
    kPermissionDenied = 5,
    kUnavailable = 6,      // store_unavailable or provider_error: try again later
    kConnection = 7,       // cannot reach tokend
};

int exit_for(const std::string& code) {
    if (code == "not_found") return kNotFound;
    if (code == "reauth_required") return kReauthRequired;
    if (code == "permission_denied") return kPermissionDenied;
    if (code == "store_unavailable" || code == "provider_error") return kUnavailable;
    if (code == "bad_request" || code == "unknown_op") return kUsage;
    return kTokendError;
}

struct Options {
    std::string socket;
    bool json = false;
    int timeout_s = 30;
};

class Session {
public:
    explicit Session(const Options& options) : options_(options) {
        char error[512] = "";
        client_ = tokend_client_connect(options.socket.empty() ? nullptr : options.socket.c_str(),
                                        options.timeout_s * 1000, 0, error, sizeof error);
        if (client_ == nullptr) {
            std::cerr << "tokenctl: " << error << "\n";
            std::exit(kConnection);
        }
    }
    ~Session() { tokend_client_close(client_); }

    // Sends a request; returns its result or exits with the error's code.
    Json call(Json request) {
        const std::string text = request.dump();
        const char* line = nullptr;
        size_t length = 0;
        if (tokend_client_call(client_, text.data(), text.size(), &line, &length) != 0) {
            std::cerr << "tokenctl: " << tokend_client_error(client_) << "\n";
            std::exit(kConnection);
        }
        // Bounded like every JSON tokend parses (core/json_limits.h): a value
        // nested 100,000 deep would crash the copy below, not just fail.
        Json response = parse_bounded_json(std::string_view(line, length));
        if (response.is_discarded() || !response.is_object()) {
            std::cerr << "tokenctl: tokend sent an unreadable response\n";
            std::exit(kTokendError);
        }
        if (!response.value("ok", false)) {
            const Json error = response.value("error", Json::object());
            const std::string code = error.value("code", "internal");
            if (options_.json) {
                std::cout << response.dump() << "\n";
            } else {
                std::cerr << "tokenctl: " << code << ": " << error.value("message", "") << "\n";
            }
            std::exit(exit_for(code));
        }
        return response.value("result", Json::object());
    }

    // Streams lines (events after watch) to stdout until the connection ends.
    int stream() {
        for (;;) {
            const char* line = nullptr;
            size_t length = 0;
            if (tokend_client_read_line(client_, &line, &length) != 0) return kConnection;
            if (options_.json) {
                std::cout << std::string_view(line, length) << std::endl;
            } else {
                const Json event = parse_bounded_json(std::string_view(line, length));
                if (event.is_object()) {
                    std::cout << event.value("at", "") << "  " << event.value("event", "") << "  "
                              << event.value("user_id", "") << std::endl;
                }
            }
        }
    }

private:
    const Options& options_;
    tokend_client* client_ = nullptr;
};

void print(const Options& options, const Json& result, const std::string& human) {
    if (options.json) {
        std::cout << result.dump() << "\n";
    } else if (!human.empty()) {
        std::cout << human << "\n";
    }
}

std::string pretty(const Json& value) { return value.dump(2); }

Json read_json_file(const std::string& path) {
    std::string text;
    if (path == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream file(path);
        if (!file) {
            std::cerr << "tokenctl: cannot read " << path << "\n";
            std::exit(kUsage);
        }
        text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    Json json = parse_bounded_json(text);
    if (json.is_discarded()) {
        std::cerr << "tokenctl: " << path << " is not valid JSON (or nests deeper than " << kMaxJsonDepth
                  << " levels)\n";
        std::exit(kUsage);
    }
    return json;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"tokenctl: talk to tokend over its control socket"};
    app.footer(
        "Exit codes: 0 ok, 1 other tokend error, 2 bad usage or request, 3 not_found, 4 reauth_required,\n"
        "5 permission_denied, 6 store or provider unavailable (try again), 7 cannot reach tokend.\n"
        "The socket is --socket, else $TOKEND_SOCKET, else " TOKEND_CLIENT_DEFAULT_SOCKET ".");
    app.add_option("-s,--socket", options.socket, "control socket path");
    app.add_flag("--json", options.json, "print tokend's JSON result instead of text");
    app.add_option("--timeout", options.timeout_s, "seconds to wait for an answer (0: forever)")->capture_default_str();
    app.require_subcommand(1);

    std::string user, flow, code, file, cursor;
    unsigned limit = 0;
    bool refresh = false, force = false, all = false, clear_refresh_token = false, no_pkce = false;

    auto* ping = app.add_subcommand("ping", "check that tokend answers");
    auto* start = app.add_subcommand("start-flow", "start an OAuth flow for a user; prints the URL to send them to");
    start->add_option("user_id", user)->required();
    start->add_flag("--no-pkce", no_pkce, "without PKCE, for a caller that builds the URL itself (legacy)");
    auto* link = app.add_subcommand("auth-link", "a signed link that starts a fresh flow for a user when opened (days)");
    link->add_option("user_id", user)->required();
    auto* redirect = app.add_subcommand("process-redirect", "finish a flow with the code the provider returned");
    redirect->add_option("flow_id", flow)->required();
    redirect->add_option("code", code)->required();
    auto* token = app.add_subcommand("get-token", "print a valid access token for a user (refreshed if needed)");
    token->add_option("user_id", user)->required();
    auto* force_refresh = app.add_subcommand("refresh", "refresh a user's token now; prints the new one");
    force_refresh->add_option("user_id", user)->required();
    auto* context = app.add_subcommand("get-context", "print a user's context (refresh token hidden unless allowed)");
    context->add_option("user_id", user)->required();
    context->add_flag("--refresh", refresh, "refresh first when the token is nearly expired");
    auto* set = app.add_subcommand("set-context", "store a user's context from a JSON file (- for stdin)");
    set->add_option("user_id", user)->required();
    set->add_option("file", file)->required();
    set->add_flag("--clear-refresh-token", clear_refresh_token,
                  "drop the stored refresh token (a null one in the file keeps it)");
    set->add_flag("--force", force, "write the tokens even if the stored ones are newer (a rollback, an import)");
    auto* clear = app.add_subcommand("clear-context", "delete a user's context");
    clear->add_option("user_id", user)->required();
    auto* list = app.add_subcommand("list-users", "list user ids, a page at a time");
    list->add_option("--limit", limit, "page size (1-1000)");
    list->add_option("--cursor", cursor, "continue after this cursor");
    list->add_flag("--all", all, "walk every page");
    auto* maintenance = app.add_subcommand("flow-maintenance", "collect expired flows now (if due, or --force)");
    maintenance->add_flag("--force", force, "run even if it ran recently");
    auto* stats = app.add_subcommand("stats", "print counters");
    auto* watch = app.add_subcommand("watch", "stream events until interrupted");
    watch->add_option("user_id", user, "only this user's events");
    bool reencrypt_status = false;
    auto* reencrypt = app.add_subcommand(
        "reencrypt", "rewrite every stored context and flow with the active encryption key (or in plain text)");
    reencrypt->add_flag("--status", reencrypt_status, "only show the running (or last) re-encryption's counts");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int rc = app.exit(error);
        return rc == 0 ? 0 : kUsage;
    }

    Session session(options);
    if (*ping) {
        const Json result = session.call({{"op", "ping"}});
        print(options, result, "tokend " + result.value("version", "?") + ", protocol " +
                                   std::to_string(result.value("protocol", 0)));
    } else if (*start) {
        Json request = {{"op", "start_flow"}, {"user_id", user}};
        if (no_pkce) request["pkce"] = false;
        const Json result = session.call(request);
        print(options, result, result.value("auth_url", ""));
    } else if (*link) {
        const Json result = session.call({{"op", "auth_link"}, {"user_id", user}});
        print(options, result, result.value("url", ""));
        if (!options.json) std::cerr << "valid until " << result.value("expires_at", "") << "\n";
    } else if (*redirect) {
        const Json result = session.call({{"op", "process_redirect"}, {"flow_id", flow}, {"code", code}});
        print(options, result, result.value("status", "") + ": " + result.value("message", ""));
        if (result.value("status", "") != "authenticated") return kTokendError;
    } else if (*token || *force_refresh) {
        const Json result = session.call({{"op", *token ? "get_token" : "refresh"}, {"user_id", user}});
        print(options, result, result.value("access_token", ""));
    } else if (*context) {
        const Json result = session.call({{"op", "get_user_context"}, {"user_id", user}, {"refresh", refresh}});
        if (result["user_context"].is_null()) {
            if (!options.json) std::cerr << "tokenctl: no context for user " << user << "\n";
            print(options, result, "");
            return kNotFound;
        }
        print(options, result, pretty(result["user_context"]));
    } else if (*set) {
        Json request = {{"op", "set_user_context"}, {"user_id", user}, {"user_context", read_json_file(file)}};
        if (clear_refresh_token) request["clear_refresh_token"] = true;
        if (force) request["force"] = true;
        const Json result = session.call(request);
        const std::string tokens = result.value("tokens", "");
        print(options, result,
              "stored; tokens " + (tokens == "kept_newer" ? std::string("kept (the stored ones are newer)") : tokens) +
                  ", refresh token " + result.value("refresh_token", ""));
    } else if (*clear) {
        const Json result = session.call({{"op", "set_user_context"}, {"user_id", user}, {"user_context", nullptr}});
        print(options, result, result.value("cleared", false) ? "cleared" : "there was no context");
    } else if (*list) {
        do {
            Json request = {{"op", "list_users"}};
            if (limit) request["limit"] = limit;
            if (!cursor.empty()) request["cursor"] = cursor;
            const Json result = session.call(request);
            if (options.json) {
                std::cout << result.dump() << "\n";
            } else {
                for (const auto& id : result["users"]) std::cout << id.get<std::string>() << "\n";
            }
            cursor = result["next"].is_string() ? result["next"].get<std::string>() : "";
        } while (all && !cursor.empty());
        if (!all && !cursor.empty() && !options.json) std::cerr << "(more: --cursor " << cursor << ")\n";
    } else if (*maintenance) {
        const Json result = session.call({{"op", "flow_maintenance"}, {"force", force}});
        std::ostringstream human;
        human << (result.value("ran", false) ? "ran" : "not due") << ", deleted " << result["deleted"].size() << " flows";
        for (const auto& item : result["deleted"]) {
            human << "\n  " << item.value("flow_id", "") << "  user "
                  << (item["user_id"].is_string() ? item["user_id"].get<std::string>() : "(unreadable)");
        }
        print(options, result, human.str());
    } else if (*stats) {
        const Json result = session.call({{"op", "stats"}});
        print(options, result, pretty(result));
    } else if (*reencrypt) {
        // A run walks the whole store: no answer timeout unless one was given.
        if (!reencrypt_status && app.get_option("--timeout")->count() == 0) options.timeout_s = 0;
        Session long_session(options);
        const Json result = long_session.call({{"op", "reencrypt"}, {"status", reencrypt_status}});
        std::ostringstream human;
        const char* state = result.value("running", false) ? "running" : result.value("finished", false) ? "finished" : "stopped";
        human << "re-encryption " << state << " (" << (result["active_key"].is_string()
                                                          ? "key " + result["active_key"].get<std::string>()
                                                          : std::string("plain text"))
              << ")";
        for (const char* ns : {"contexts", "flows"}) {
            const Json& counts = result[ns];
            human << "\n  " << ns << ": " << counts.value("examined", 0) << " examined, " << counts.value("rewritten", 0)
                  << " rewritten, " << counts.value("current", 0) << " already current, "
                  << counts.value("unreadable", 0) << " unreadable, " << counts.value("busy", 0) << " busy";
        }
        for (const auto& item : result["unreadable"]) {
            human << "\n  unreadable " << item.value("ns", "") << " " << item.value("key", "") << ": "
                  << item.value("reason", "");
        }
        if (result["error"].is_string()) human << "\n  " << result["error"].get<std::string>();
        print(options, result, human.str());
        const bool unreadable = result["contexts"].value("unreadable", 0) + result["flows"].value("unreadable", 0) > 0;
        if (!reencrypt_status && (!result.value("finished", false) || unreadable)) return kTokendError;
    } else if (*watch) {
        Json request = {{"op", "watch"}};
        if (!user.empty()) request["user_id"] = user;
        session.call(request);
        return session.stream();
    }
    return kOk;
}
