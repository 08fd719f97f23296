#include "app/daemon.h"

#include "app/logging.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace tokend {
namespace {

// The state directory holds tokens: only the daemon's user may enter it.
void ensure_private_directory(const std::string& path) {
    std::error_code error;
    if (std::filesystem::create_directories(path, error)) {
        ::chmod(path.c_str(), 0700);
        spdlog::info("created state directory {}", path);
    } else if (error) {
        throw std::runtime_error("cannot create state directory " + path + ": " + error.message());
    }
}

size_t count_keys(Store& store, Ns ns) {
    size_t count = 0;
    const StoreStatus status = store.for_each_key(ns, [&](std::string_view) {
        ++count;
        return true;
    });
    if (!status.ok()) {
        throw std::runtime_error("cannot list " + std::string(to_string(ns)) + "s in the store: " +
                                 status.describe());
    }
    return count;
}

}  // namespace

Daemon::Daemon(const Config& config, const std::string& default_plugin_dir) : config_(config) {
    ensure_private_directory(config_.state_dir);
    const std::string plugin_dir = config_.store.plugin_dir.empty() ? default_plugin_dir : config_.store.plugin_dir;
    auto plugin = StorePlugin::load(config_.store.plugin, plugin_dir);
    spdlog::info("store plugin {} {} loaded from {} (ABI {}.{})", plugin->name(), plugin->version(),
                 plugin->path(), plugin->abi_version() >> 16, plugin->abi_version() & 0xffff);
    const std::string name = plugin->name();
    StoreLogSink sink = [name](tokend_log_level level, std::string_view message) {
        log_from_plugin(name, level, message);
    };
    const StoreStatus opened = Store::open(plugin, config_.store.options.dump(), sink, &store_);
    if (!opened.ok()) throw std::runtime_error("cannot open the " + name + " store: " + opened.describe());
    const size_t users = count_keys(*store_, Ns::user);
    const size_t flows = count_keys(*store_, Ns::flow);
    spdlog::info("store {} open: {} user contexts, {} pending flows", name, users, flows);
}

Daemon::~Daemon() = default;

int Daemon::run() {
    // A peer that goes away must not kill the daemon: writes get EPIPE instead.
    std::signal(SIGPIPE, SIG_IGN);
    if (int rc = uv_loop_init(&loop_); rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
        uv_signal_init(&loop_, handle);
        handle->data = this;
        uv_signal_start(handle, on_signal, signum);
    }
    spdlog::info("tokend {} running (pid {}); Ctrl-C or SIGTERM stops it", TOKEND_VERSION, ::getpid());
    uv_run(&loop_, UV_RUN_DEFAULT);

    // Every handle is closed by now; a non-zero close would mean a leaked handle.
    const int closed = uv_loop_close(&loop_);
    store_.reset();
    if (closed != 0) {
        spdlog::error("event loop still had open handles at exit ({})", uv_strerror(closed));
        return 1;
    }
    spdlog::info("tokend stopped");
    return 0;
}

void Daemon::on_signal(uv_signal_t* handle, int signum) {
    static_cast<Daemon*>(handle->data)->stop(signum);
}

void Daemon::stop(int signum) {
    if (stopping_) return;
    stopping_ = true;
    spdlog::info("{} received: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    // Reverse order of start-up: the signal handlers were the last thing started.
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
}

}  // namespace tokend
