// tokend: wires configuration, logging and the daemon together. Nothing else.
#include "app/config_check.h"
#include "app/daemon.h"
#include "app/logging.h"
#include "app/process_limits.h"
#include "app/service_manager.h"
#include "config/config.h"
#include "host/store_plugin.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace {

// An installed tokend finds the plugins installed beside it (<prefix>/bin/tokend
// and <prefix>/TOKEND_PLUGIN_INSTALL_DIR), so a package unpacked under another
// root runs with its own plugins; otherwise the directory compiled in.
std::string default_plugin_dir() {
    std::error_code error;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        const std::filesystem::path beside = exe.parent_path().parent_path() / TOKEND_PLUGIN_INSTALL_DIR;
        if (exe.parent_path().filename() == "bin" && std::filesystem::is_directory(beside, error)) return beside.string();
    }
    return TOKEND_DEFAULT_PLUGIN_DIR;
}

}  // namespace

int main(int argc, char** argv) {
    tokend::forbid_core_dumps();  // before anything secret is read
    CLI::App app{"tokend: holds chat bots' users' OAuth tokens"};
    std::string config_path;
    std::string plugin_dir = default_plugin_dir();
    std::string log_level;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file (default: the embedded default)");
    app.add_option("--plugin-dir", plugin_dir, "where store plugins are looked up by name")
        ->capture_default_str();
    app.add_option("--log-level", log_level, "trace, debug, info, warning or error (overrides the file)");
    app.add_flag("--check-config", check_only,
                 "check the configuration as a start would (the file, the store plugin's options, every secret) "
                 "without starting; print every problem with its line and exit 1, or print ok");
    app.set_version_flag("--version", TOKEND_VERSION);
    CLI11_PARSE(app, argc, argv);

    tokend::ConfigEnvironment env;
    if (const char* state = std::getenv("STATE_DIRECTORY")) env.state_directory = state;
    if (const char* runtime = std::getenv("RUNTIME_DIRECTORY")) env.runtime_directory = runtime;
    if (check_only) {
        // Every problem at once, each with its line; `ok` only when there is none.
        const tokend::ConfigCheck check =
            tokend::check_configuration(tokend::ConfigCheckInput{config_path, env, log_level, plugin_dir});
        for (const std::string& note : check.notes) std::cerr << "note: " << note << "\n";
        for (const std::string& problem : check.problems) std::cerr << problem << "\n";
        if (!check.ok()) {
            std::cerr << check.source << ": " << check.problems.size()
                      << (check.problems.size() == 1 ? " problem" : " problems") << "\n";
            return 1;
        }
        std::cout << check.source << ": ok\n";
        return 0;
    }
    try {
        tokend::init_logging({});  // so that a configuration error reaches the journal with its priority
        tokend::Config config = config_path.empty() ? tokend::default_config(env)
                                                    : tokend::load_config_file(config_path, env);
        if (!log_level.empty()) config.log.level = log_level;
        tokend::init_logging({config.log.level, config.log.format});
        spdlog::info("configuration: {}", config_path.empty() ? "embedded default" : config_path);
        tokend::Daemon daemon(config, tokend::DaemonOptions{config_path, env, log_level, plugin_dir});
        return daemon.run();
    } catch (const std::exception& error) {
        // Start-up errors are fatal and said once, plainly (and to systemctl status).
        tokend::notify_service_manager(std::string("STATUS=cannot start: ") + error.what());
        if (spdlog::default_logger_raw() && spdlog::get("tokend")) {
            const auto* system = dynamic_cast<const std::system_error*>(&error);  // ERRNO in the journal
            tokend::log_event(spdlog::level::critical,
                              tokend::LogFields().with_errno(system != nullptr ? system->code().value() : 0),
                              "cannot start: {}", error.what());
        } else {
            std::cerr << "tokend: cannot start: " << error.what() << "\n";
        }
        return 2;
    }
}
