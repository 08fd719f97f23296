#include "export_import.h"

#include "core/iso_time.h"
#include "core/json_limits.h"
#include "core/user_context.h"
#include "yaml_reader.h"
#include "yaml_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

namespace tokenctl {
namespace {

constexpr std::string_view kHeader = "# tokend export";
constexpr std::string_view kTrailer = "# end of tokend export: ";
// Requests in flight at once on the connection (tokend reads up to 256).
constexpr size_t kWindow = 64;

// Writes text to path through a temp file (mode 0600: it holds tokens), fsync
// and rename: a failed export leaves no partial file behind.
void write_file_atomically(const Options& options, const std::string& path, const std::string& text) {
    const std::string temp = path + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail(options, kUsage, "usage", "cannot create " + temp + ": " + std::strerror(errno));
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int saved = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            fail(options, kTokendError, "write", "cannot write " + temp + ": " + std::strerror(saved));
        }
        written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        fail(options, kTokendError, "write", "cannot write " + path + ": " + std::strerror(saved));
    }
}

std::string read_input(const Options& options, const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    std::ifstream file(path, std::ios::binary);
    if (!file) fail(options, kUsage, "usage", "cannot read " + path + ": " + std::strerror(errno));
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

struct FileContext {
    std::string user_id;
    Json context;
};

// The file's contexts, or every problem in it at once (then exits: nothing sent).
std::vector<FileContext> read_contexts(const Options& options, const std::string& path) {
    const std::string text = read_input(options, path);
    const std::string name = path == "-" ? "stdin" : path;
    std::vector<std::string> problems;
    std::vector<std::pair<std::string, tokend::yaml_store::EntryPtr>> entries;
    try {
        entries = tokend::yaml_store::parse_store_file(text, name);
    } catch (const std::exception& error) {
        fail(options, kUsage, "usage", std::string(error.what()) + "; nothing was imported");
    }
    // An export says how many contexts it holds in its last line: a file cut
    // short (a full disk, an interrupted copy) is refused even where it still
    // parses as YAML.
    if (text.compare(0, kHeader.size(), kHeader) == 0) {
        const size_t at = text.rfind(kTrailer);
        unsigned long long count = 0;
        bool whole = at != std::string::npos && text.find('\n', at) == text.size() - 1;
        if (whole) {
            std::istringstream number(text.substr(at + kTrailer.size()));
            whole = static_cast<bool>(number >> count) && count == entries.size();
        }
        if (!whole) {
            problems.push_back(name + ": the export is incomplete (its last line, \"" + std::string(kTrailer) +
                               "N user contexts\", is missing or does not match the " +
                               std::to_string(entries.size()) + " contexts in it)");
        }
    } else if (text.find_first_not_of(" \t\r\n") != std::string::npos && entries.empty()) {
        problems.push_back(name + ": holds no user contexts");
    }
    std::vector<FileContext> contexts;
    for (const auto& [key, entry] : entries) {
        Json json = tokend::parse_bounded_json(entry->value);
        if (json.is_discarded() || !json.is_object()) {
            problems.push_back(name + ": entry " + key + ": not a user context (a mapping)");
            continue;
        }
        auto parsed = tokend::user_context_from_json(json);
        if (!parsed) {
            problems.push_back(name + ": entry " + key + ": " + parsed.error());
        } else if (parsed->user_id != key) {
            problems.push_back(name + ": entry " + key + ": its user_id is another (" + parsed->user_id + ")");
        } else {
            contexts.push_back({key, std::move(json)});
        }
    }
    if (!problems.empty()) {
        std::string message;
        const size_t shown = std::min<size_t>(problems.size(), 20);
        for (size_t i = 0; i < shown; ++i) message += (i ? "\n" : "") + problems[i];
        if (shown < problems.size()) message += "\n... and " + std::to_string(problems.size() - shown) + " more";
        fail(options, kUsage, "usage", message + "\nnothing was imported");
    }
    return contexts;
}

struct Decided {
    std::string user_id;
    Json result;  // set_user_context's result
};

// Sends one set_user_context per context, kWindow in flight. The first error
// stops the sending; the answers already under way are still read, and every
// success (a write that happened) is in *done. Returns the first error's
// response with its "user_id", or null.
Json set_all(Session& session, const std::vector<const FileContext*>& contexts, bool dry_run, bool force,
             std::vector<Decided>* done) {
    size_t sent = 0, answered = 0;
    Json failure;
    for (;;) {
        while (failure.is_null() && sent < contexts.size() && sent - answered < kWindow) {
            Json request = {{"op", "set_user_context"},
                            {"user_id", contexts[sent]->user_id},
                            {"user_context", contexts[sent]->context}};
            if (dry_run) request["dry_run"] = true;
            if (force) request["force"] = true;
            session.send(request);
            ++sent;
        }
        if (answered == sent) return failure;
        const Json response = session.read();
        const std::string& user_id = contexts[answered++]->user_id;
        if (response.value("ok", false)) {
            done->push_back({user_id, response.value("result", Json::object())});
        } else if (failure.is_null()) {
            failure = response;
            failure["user_id"] = user_id;
        }
    }
}

// One user's line in the report, or empty for one that stays as it is.
std::string describe(const Decided& decided, bool dry_run) {
    const std::string change = decided.result.value("change", "");
    const bool kept = decided.result.value("tokens", "") == "kept_newer";
    const std::string would = dry_run ? "would be " : "";
    if (change == "created") return decided.user_id + ": new, " + would + "created";
    if (change == "unchanged" && !kept) return "";
    if (kept) {
        return decided.user_id + ": conflict, the stored grant is newer: its tokens " + (dry_run ? "would stay" : "stayed") +
               (change == "changed" ? std::string(", the file's other fields ") + (dry_run ? "would apply" : "applied")
                                    : "");
    }
    return decided.user_id + ": conflict, the file's grant is newer or the same: " + would + "written (refresh token " +
           decided.result.value("refresh_token", "") + ")";
}

}  // namespace

int run_export(const Options& options, Session& session, const ExportOptions& what) {
    Json request = {{"op", "export"}};
    if (!what.refresh_tokens) request["refresh_tokens"] = false;
    std::string body;
    Json first;
    size_t count = 0;
    for (;;) {
        const Json result = session.call(request);
        if (first.is_null()) first = result;
        for (const Json& context : result["user_contexts"]) {
            body += tokend::yaml_store::emit_mapping_entry(context.value("user_id", ""), context);
            ++count;
        }
        if (!result["next"].is_string()) break;
        request["cursor"] = result["next"];
    }
    const bool with_refresh_tokens = first.value("refresh_tokens", false);
    std::string text;
    text += std::string(kHeader) + ": user contexts in the users.yml format (a mapping of user id to context),\n";
    text += "# read by tokenctl import, the yaml store and the Python user_context module.\n";
    text += "# taken at " + first.value("taken_at", "") + "; refresh tokens " +
            (with_refresh_tokens ? "included: keep this file as secret as the tokens" : "omitted (null)") + "\n";
    text += body;
    text += std::string(kTrailer) + std::to_string(count) + " user contexts\n";
    const bool to_stdout = what.file.empty() || what.file == "-";
    if (to_stdout) {
        std::cout << text << std::flush;
    } else {
        write_file_atomically(options, what.file, text);
    }
    const Json summary = {{"users", count},
                          {"refresh_tokens", with_refresh_tokens},
                          {"taken_at", first.value("taken_at", "")},
                          {"file", to_stdout ? Json() : Json(what.file)}};
    const std::string human = "exported " + std::to_string(count) + " user contexts, refresh tokens " +
                              (with_refresh_tokens ? "included" : "omitted") +
                              (to_stdout ? std::string() : " to " + what.file);
    if (to_stdout) {
        // stdout holds the file: the summary goes to stderr.
        std::cerr << (options.json ? Json{{"ok", true}, {"result", summary}}.dump() : "tokenctl: " + human) << "\n";
    } else {
        print_ok(options, summary, human);
    }
    return kOk;
}

int run_import(const Options& options, const ImportOptions& what) {
    const std::vector<FileContext> contexts = read_contexts(options, what.file);
    Session session(options);
    std::vector<const FileContext*> all;
    for (const FileContext& context : contexts) all.push_back(&context);

    // The dry run: every user decided against what is stored now, nothing
    // written. A user tokend refuses stops the import before any write.
    std::vector<Decided> decided;
    if (Json failure = set_all(session, all, /*dry_run=*/true, what.force, &decided); !failure.is_null()) {
        const Json error = failure.value("error", Json::object());
        const std::string code = error.value("code", "internal");
        fail(options, exit_for(code), code,
             "user " + failure.value("user_id", "") + ": " + code + ": " + error.value("message", "") +
                 "; nothing was imported");
    }
    std::vector<const FileContext*> to_write;
    for (size_t i = 0; i < decided.size(); ++i) {
        if (decided[i].result.value("change", "") != "unchanged") to_write.push_back(all[i]);
    }
    std::vector<Decided> report = decided;
    Json failure;
    if (!what.dry_run) {
        std::vector<Decided> written;
        failure = set_all(session, to_write, /*dry_run=*/false, what.force, &written);
        // The written users' answers, with the dry run's "change" (a write's
        // answer has none).
        std::map<std::string, Json> by_user;
        for (const Decided& one : written) by_user[one.user_id] = one.result;
        for (Decided& one : report) {
            auto it = by_user.find(one.user_id);
            if (it != by_user.end()) {
                const std::string change = one.result.value("change", "");
                one.result = it->second;
                one.result["change"] = change;
            } else if (one.result.value("change", "") != "unchanged") {
                one.result = Json();  // not written: the import stopped before it
            }
        }
    }
    size_t created = 0, changed = 0, unchanged = 0, kept_newer = 0, not_written = 0;
    Json users = Json::array();
    std::string lines;
    for (const Decided& one : report) {
        if (one.result.is_null()) {
            ++not_written;
            continue;
        }
        const std::string change = one.result.value("change", "");
        created += change == "created";
        changed += change == "changed";
        unchanged += change == "unchanged";
        kept_newer += one.result.value("tokens", "") == "kept_newer";
        users.push_back({{"user_id", one.user_id},
                         {"change", change},
                         {"tokens", one.result.value("tokens", "")},
                         {"refresh_token", one.result.value("refresh_token", "")}});
        const std::string line = describe(one, what.dry_run);
        if (!line.empty()) lines += line + "\n";
    }
    const Json result = {{"dry_run", what.dry_run}, {"users", users},  {"created", created},
                         {"changed", changed},      {"unchanged", unchanged}, {"kept_newer", kept_newer}};
    std::string summary = std::string(what.dry_run ? "dry run: " : "imported: ") + std::to_string(contexts.size()) +
                          " user contexts in the file; " + std::to_string(created) + " new, " +
                          std::to_string(changed) + " changed, " + std::to_string(unchanged) + " unchanged (" +
                          std::to_string(kept_newer) + " where the stored grant is newer)";
    if (!failure.is_null()) {
        const Json error = failure.value("error", Json::object());
        const std::string code = error.value("code", "internal");
        if (!options.json) std::cout << lines << std::flush;
        fail(options, exit_for(code), code,
             "user " + failure.value("user_id", "") + ": " + code + ": " + error.value("message", "") +
                 "; the import stopped there: " + std::to_string(not_written) +
                 " user contexts were not written (the users listed above were); run it again");
    }
    if (!lines.empty()) lines.pop_back();
    print_ok(options, result, lines.empty() ? summary : lines + "\n" + summary);
    return kOk;
}

}  // namespace tokenctl
