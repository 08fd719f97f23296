#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tokend::yaml_test {

TempDir::TempDir() {
    std::string pattern = "/tmp/tokend-yaml-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

StoreLogSink LogCapture::sink() {
    return [this](tokend_log_level, std::string_view message) {
        std::lock_guard<std::mutex> hold(mutex_);
        lines_.emplace_back(message);
    };
}

std::vector<std::string> LogCapture::lines() const {
    std::lock_guard<std::mutex> hold(mutex_);
    return lines_;
}

bool LogCapture::contains(const std::string& text) const {
    std::lock_guard<std::mutex> hold(mutex_);
    for (const std::string& line : lines_) {
        if (line.find(text) != std::string::npos) return true;
    }
    return false;
}

std::shared_ptr<StorePlugin> yaml_plugin() {
    static const std::shared_ptr<StorePlugin> plugin =
        StorePlugin::load("yaml", TOKEND_BUILD_PLUGIN_DIR);
    return plugin;
}

std::string path_config(const std::string& users_path) {
    return nlohmann::json{{"path", users_path}}.dump();
}

StoreStatus open_yaml(const std::string& config_json, std::unique_ptr<Store>* out,
                      LogCapture* log) {
    return Store::open(yaml_plugin(), config_json, log ? log->sink() : StoreLogSink(), out);
}

std::unique_ptr<Store> open_yaml_or_fail(const std::string& users_path, LogCapture* log) {
    std::unique_ptr<Store> store;
    const StoreStatus status = open_yaml(path_config(users_path), &store, log);
    EXPECT_TRUE(status.ok()) << status.describe();
    return store;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

bool file_exists(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

unsigned file_mode(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return 0xffffffffu;
    return info.st_mode & 07777;
}

std::string script_path(const std::string& name) {
    return std::string(YAML_TEST_SCRIPT_DIR) + "/" + name;
}

int run_python(const std::vector<std::string>& args, std::string* output) {
    // Arguments are our own temp paths and script names: quote them for the shell.
    std::string command = std::string("'") + TOKEND_PYTHON + "'";
    for (const std::string& arg : args) command += " '" + arg + "'";
    command += " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return -1;
    output->clear();
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, got);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> all_keys(Store& store, Ns ns) {
    std::vector<std::string> keys;
    const StoreStatus status = store.for_each_key(
        ns,
        [&](std::string_view key) {
            keys.emplace_back(key);
            return true;
        },
        7);  // small pages, so paging is exercised too
    EXPECT_TRUE(status.ok()) << status.describe();
    return keys;
}

}  // namespace tokend::yaml_test
