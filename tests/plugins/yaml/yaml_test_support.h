// Helpers for the yaml store tests: a private temp directory, opening the built
// plugin through the host's Store wrapper, file access and running Python.
#pragma once

#include "host/store.h"
#include "host/store_plugin.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tokend::yaml_test {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Log lines the plugin sent, to check that no value ever appears in them.
class LogCapture {
public:
    StoreLogSink sink();
    std::vector<std::string> lines() const;
    bool contains(const std::string& text) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

// The yaml plugin from the build tree, loaded once.
std::shared_ptr<StorePlugin> yaml_plugin();

// Opens the yaml store on users_path (options as JSON members, e.g. flows_path).
StoreStatus open_yaml(const std::string& config_json, std::unique_ptr<Store>* out,
                      LogCapture* log = nullptr);
// Shorthand: {"path": users_path}.
std::unique_ptr<Store> open_yaml_or_fail(const std::string& users_path, LogCapture* log = nullptr);
std::string path_config(const std::string& users_path);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
bool file_exists(const std::string& path);
unsigned file_mode(const std::string& path);  // permission bits

// Runs the Python interpreter CMake found with args; returns its exit code and fills
// *output with its stdout and stderr.
int run_python(const std::vector<std::string>& args, std::string* output);
std::string script_path(const std::string& name);  // a script in this test directory

// Every key of a namespace, through list.
std::vector<std::string> all_keys(Store& store, Ns ns);

}  // namespace tokend::yaml_test
