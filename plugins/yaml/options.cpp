#include "options.h"

#include "durable_file.h"
#include "option_helpers.h"
#include "yaml_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace tokend::yaml_store {
namespace {

using plugin_support::parse_options_object;
using plugin_support::string_option;
using plugin_support::unknown_option;

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string default_flows_path(const std::string& path) {
    for (std::string_view suffix : {".yml", ".yaml"}) {
        if (ends_with(path, suffix) && path.size() > suffix.size()) {
            return path.substr(0, path.size() - suffix.size()) + ".flows.yml";
        }
    }
    return path + ".flows.yml";
}

Status parse_options(std::string_view config_json, Options* out, plugin_support::OptionProblems* problems) {
    nlohmann::json config;
    if (Status status = parse_options_object(config_json, &config); !status.ok()) return status;

    Options options;
    for (const auto& [name, value] : config.items()) {
        Status status;
        if (name == "path") {
            status = string_option(value, "path", &options.path);
        } else if (name == "flows_path") {
            status = string_option(value, "flows_path", &options.flows_path);
        } else {
            status = unknown_option(name, "path, flows_path");
        }
        if (!status.ok() && plugin_support::stop_parsing(status, name, problems)) return status;
    }
    if (problems != nullptr && !problems->empty()) return Status::error(TOKEND_INVALID, "");
    if (options.path.empty()) return Status::error(TOKEND_INVALID, "option \"path\" is required");
    if (options.flows_path.empty()) options.flows_path = default_flows_path(options.path);
    if (options.flows_path == options.path) {
        return Status::error(TOKEND_INVALID, "option \"flows_path\" must differ from \"path\"");
    }
    *out = std::move(options);
    return Status::success();
}

namespace {

// What open() needs of one file, looked at without touching it.
void check_file(const std::string& path, const char* option, const char* label, bool check_directory,
                plugin_support::OptionProblems* problems) {
    const std::string directory = parent_directory(path);
    struct stat info {};
    if (!check_directory) {
        // Said once, for the users file, when both share a directory.
        if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return;
    } else if (::stat(directory.c_str(), &info) != 0) {
        problems->push_back({option, std::string("the directory ") + directory + " of the " + label +
                                         " file cannot be used: " + std::strerror(errno) +
                                         " (the store does not create it)"});
        return;
    }
    if (check_directory && !S_ISDIR(info.st_mode)) {
        problems->push_back({option, directory + " is not a directory"});
        return;
    }
    // The store writes a temp file and a lock file beside the file.
    if (check_directory && ::access(directory.c_str(), W_OK | X_OK) != 0) {
        problems->push_back({option, std::string("cannot write in ") + directory + " (where the " + label +
                                         " file, its temp file and its lock go): " + std::strerror(errno)});
    }
    std::string text;
    bool exists = false;
    if (SysError error = read_whole_file(path, &text, &exists)) {
        problems->push_back({option, std::string("cannot read the ") + label + " file " + path + ": " +
                                         error.describe()});
        return;
    }
    if (!exists) return;  // created by the first write
    try {
        parse_store_file(text, path);
    } catch (const CorruptFile& error) {
        problems->push_back({option, std::string(label) + " file " + error.what()});
    }
}

}  // namespace

Status check_options(std::string_view config_json, plugin_support::OptionProblems* problems) {
    Options options;
    Status status = parse_options(config_json, &options, problems);
    if (!status.ok()) return status;
    check_file(options.path, "path", "users", true, problems);
    check_file(options.flows_path, "flows_path", "flows",
               parent_directory(options.flows_path) != parent_directory(options.path), problems);
    return problems->empty() ? Status::success() : Status::error(TOKEND_INVALID, "");
}

}  // namespace tokend::yaml_store
