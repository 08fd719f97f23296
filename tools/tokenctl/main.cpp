// tokenctl: tokend's control protocol from the command line, built on the
// public C client library (tokend/client.h).
#include "export_import.h"
#include "output.h"
#include "session.h"

#include "core/json_limits.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace tokenctl;
using tokend::kMaxJsonDepth;
using tokend::parse_bounded_json;

void print(const Options& options, const Json& result, const std::string& human) {
    print_ok(options, result, human);
}

std::string pretty(const Json& value) { return value.dump(2); }

Json read_json_file(const Options& options, const std::string& path) {
    std::string text;
    if (path == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream file(path);
        if (!file) fail(options, kUsage, "usage", "cannot read " + path + ": " + std::strerror(errno));
        text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    Json json = parse_bounded_json(text);
    if (json.is_discarded()) {
        fail(options, kUsage, "usage",
             path + " is not valid JSON (or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels)");
    }
    return json;
}

// Options of the app that take a value in the next argument.
bool takes_value(const std::string& arg) {
    return arg == "-s" || arg == "--socket" || arg == "--timeout" || arg == "--integration";
}

// The first word that is not an option or an option's value: the command.
std::string command_word(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") return i + 1 < argc ? argv[i + 1] : "";
        if (arg.size() > 1 && arg[0] == '-') {
            if (takes_value(arg)) ++i;
            continue;
        }
        return arg;
    }
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"tokenctl: talk to tokend over its control socket"};
    app.footer(std::string("Global options go before or after the command. With --json, stdout has\n"
                           "{\"ok\": true, \"result\": ...} and an error is {\"ok\": false, \"error\": {\"code\",\n"
                           "\"message\"}} on stderr (without it: a line on stderr).\n"
                           "The socket is --socket, else $TOKEND_SOCKET, else " TOKEND_CLIENT_DEFAULT_SOCKET ".\n\n") +
               kExitCodeTable);
    app.set_version_flag("--version", "tokenctl " TOKEND_VERSION);
    app.add_option("-s,--socket", options.socket, "control socket path");
    app.add_flag("--json", options.json, "print tokend's JSON result instead of text");
    app.add_option("--timeout", options.timeout_s, "seconds to wait for an answer (0: forever)")->capture_default_str();
    app.add_option("--integration", options.integration,
                   "the integration the user belongs to (tokend's integrations: list; default: the default one); "
                   "with stats, only that integration's share");
    app.require_subcommand(1);
    app.fallthrough();  // the options above are accepted after the command too

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
    bool no_revoke = false;
    auto* sign_out = app.add_subcommand(
        "sign-out", "delete a user's context and revoke the grant at the provider (exit 1 if that failed)");
    sign_out->add_option("user_id", user)->required();
    sign_out->add_flag("--no-revoke", no_revoke, "only delete the context here (as clear-context)");
    auto* grant_status = app.add_subcommand("grant-status", "whether a user has a working grant (never a token)");
    grant_status->add_option("user_id", user)->required();
    auto* list = app.add_subcommand("list-users", "list user ids, a page at a time");
    list->add_option("--limit", limit, "page size (1-1000)");
    list->add_option("--cursor", cursor, "continue after this cursor");
    list->add_flag("--all", all, "walk every page");
    auto* maintenance = app.add_subcommand("flow-maintenance", "collect expired flows now (if due, or --force)");
    maintenance->add_flag("--force", force, "run even if it ran recently");
    auto* stats = app.add_subcommand("stats", "print counters");
    ExportOptions export_options;
    auto* export_ = app.add_subcommand("export", "write every user context (a snapshot) in the users.yml format");
    export_->add_option("-o,--output", export_options.file, "the file (written whole or not at all; default stdout)");
    bool without_refresh_tokens = false;
    export_->add_flag("--without-refresh-tokens", without_refresh_tokens,
                      "refresh tokens null (needed unless the caller is in control.refresh_token_readers)");
    ImportOptions import_options;
    auto* import = app.add_subcommand("import", "load user contexts from an export or a users.yml (- for stdin)");
    import->add_option("file", import_options.file)->required();
    import->add_flag("--dry-run", import_options.dry_run, "report what would change; write nothing");
    import->add_flag("--force", import_options.force, "the file's tokens win even where the stored grant is newer");
    auto* watch = app.add_subcommand("watch", "stream events until interrupted");
    watch->add_option("user_id", user, "only this user's events");
    bool reencrypt_status = false;
    auto* reencrypt = app.add_subcommand(
        "reencrypt", "rewrite every stored context and flow with the active encryption key (or in plain text)");
    reencrypt->add_flag("--status", reencrypt_status, "only show the running (or last) re-encryption's counts");

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& done) {
        return app.exit(done);  // --help, --version
    } catch (const CLI::ParseError& error) {
        options.json = options.json || std::any_of(argv + 1, argv + argc, [](const char* a) {
                           return std::strcmp(a, "--json") == 0;
                       });
        const std::string word = command_word(argc, argv);
        const auto commands = app.get_subcommands([](CLI::App*) { return true; });
        if (!word.empty() && std::none_of(commands.begin(), commands.end(),
                                          [&](const CLI::App* command) { return command->get_name() == word; })) {
            fail(options, kUsage, "usage", "unknown command '" + word + "' (tokenctl --help lists the commands)");
        }
        if (word.empty()) fail(options, kUsage, "usage", "a command is required (tokenctl --help lists them)");
        fail(options, kUsage, "usage", std::string(error.what()) + " (tokenctl " + word + " --help)");
    }
    if (*import) return run_import(options, import_options);

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
        if (result.value("status", "") != "authenticated") {
            fail(options, kTokendError, result.value("status", ""),
                 result.value("status", "") + ": " + result.value("message", ""));
        }
    } else if (*token || *force_refresh) {
        const Json result = session.call({{"op", *token ? "get_token" : "refresh"}, {"user_id", user}});
        print(options, result, result.value("access_token", ""));
    } else if (*context) {
        const Json result = session.call({{"op", "get_user_context"}, {"user_id", user}, {"refresh", refresh}});
        if (result["user_context"].is_null()) fail(options, kNotFound, "not_found", "no context for user " + user);
        print(options, result, pretty(result["user_context"]));
    } else if (*set) {
        Json request = {{"op", "set_user_context"}, {"user_id", user}, {"user_context", read_json_file(options, file)}};
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
    } else if (*sign_out) {
        Json request = {{"op", "sign_out"}, {"user_id", user}};
        if (no_revoke) request["revoke"] = false;
        const Json result = session.call(request);
        const Json& revocation = result["revocation"];
        const std::string outcome = revocation.is_object() ? revocation.value("outcome", "") : "";
        std::string human = result.value("cleared", false) ? "signed out" : "there was no context";
        if (outcome == "revoked") human += "; the grant is revoked at the provider";
        if (outcome == "not_supported") human += "; the provider has no revocation endpoint: the grant stays there";
        if (outcome == "failed") human += "; revoking at the provider failed: " + revocation.value("reason", "");
        print(options, result, human);
        if (outcome == "failed") return kTokendError;
    } else if (*grant_status) {
        const Json result = session.call({{"op", "grant_status"}, {"user_id", user}});
        auto time = [&](const char* key) {
            return result[key].is_string() ? result[key].get<std::string>() : std::string("none");
        };
        std::ostringstream human;
        if (!result.value("context", false)) {
            human << "no context (" << result.value("provider", "") << "): the user must authorize";
        } else {
            human << (result.value("reauth_required", false) ? "dead: the user must authorize again" : "working")
                  << " (" << result.value("provider", "") << ")\n  access token "
                  << (result.value("access_token_valid", false) ? "valid" : "expired or none") << ", expires "
                  << time("expires_at") << "\n  refresh token "
                  << (result.value("refreshable", false) ? "usable" : "none") << ", expires "
                  << time("refresh_token_expires_at") << "\n  failed refreshes in a row: "
                  << result.value("refresh_failures", 0);
        }
        print(options, result, human.str());
    } else if (*list) {
        Json users = Json::array();  // --json: every page's users in one result
        do {
            Json request = {{"op", "list_users"}};
            if (limit) request["limit"] = limit;
            if (!cursor.empty()) request["cursor"] = cursor;
            const Json result = session.call(request);
            for (const auto& id : result["users"]) {
                if (!options.json) std::cout << id.get<std::string>() << "\n";
                users.push_back(id);
            }
            cursor = result["next"].is_string() ? result["next"].get<std::string>() : "";
        } while (all && !cursor.empty());
        print(options, {{"users", users}, {"next", cursor.empty() ? Json() : Json(cursor)}}, "");
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
        Json result = session.call({{"op", "stats"}});
        if (!options.integration.empty()) {  // that integration's share only
            const Json& shares = result["integrations"];
            if (!shares.is_object() || !shares.contains(options.integration)) {
                fail(options, kTokendError, "unknown_integration", "no integration named '" + options.integration + "'");
            }
            result = shares[options.integration];
        }
        print(options, result, pretty(result));
    } else if (*export_) {
        export_options.refresh_tokens = !without_refresh_tokens;
        return run_export(options, session, export_options);
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
