// The running daemon: owns the event loop, the store and (in later stages) the
// listeners; start-up in order, shutdown in reverse.
#pragma once

#include "config/config.h"
#include "host/store.h"

#include <uv.h>

#include <memory>
#include <string>

namespace tokend {

class Daemon {
public:
    // Loads the plugin and opens the store. Throws PluginLoadError or
    // std::runtime_error with an operator-facing message on failure.
    Daemon(const Config& config, const std::string& default_plugin_dir);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Runs until SIGINT or SIGTERM, then closes every handle. Returns the exit code.
    int run();

private:
    static void on_signal(uv_signal_t* handle, int signum);
    void stop(int signum);

    Config config_;
    std::unique_ptr<Store> store_;
    uv_loop_t loop_{};
    uv_signal_t sigint_{};
    uv_signal_t sigterm_{};
    bool stopping_ = false;
};

}  // namespace tokend
