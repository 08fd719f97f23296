#include "app/daemon.h"

#include "app/logging.h"
#include "app/secret_loader.h"

#include <spdlog/spdlog.h>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>

namespace tokend {
namespace {

constexpr size_t kStoreThreads = 4;
constexpr std::chrono::milliseconds kHttpGrace{5000};
constexpr std::chrono::milliseconds kDrainDeadline{10000};

void ensure_directory(const std::string& path, mode_t mode, const char* what) {
    std::error_code error;
    if (std::filesystem::create_directories(path, error)) {
        ::chmod(path.c_str(), mode);
        spdlog::info("created {} directory {}", what, path);
    } else if (error) {
        throw std::runtime_error(std::string("cannot create ") + what + " directory " + path + ": " + error.message());
    }
}

long group_id(const std::string& name) {
    if (name.empty()) return -1;
    if (const group* entry = ::getgrnam(name.c_str())) return static_cast<long>(entry->gr_gid);
    throw std::runtime_error("control.group: no group called " + name);
}

void close_handle(uv_handle_t* handle, int* pending) {
    ++*pending;
    handle->data = pending;
    uv_close(handle, [](uv_handle_t* closed) { --*static_cast<int*>(closed->data); });
}

}  // namespace

Daemon::Daemon(const Config& config, const std::string& default_plugin_dir) : config_(config) {
    ensure_directory(config_.state_dir, 0700, "state");
    Secret client_secret, bot_token;
    if (config_.integration.configured) {
        client_secret = load_secret(config_.integration.client_secret_source, "integration.client_secret");
        if (client_secret.empty()) {
            throw std::runtime_error(
                "integration.client_secret is not set: give {file: PATH} or {env: NAME}, or a systemd credential "
                "called client_secret");
        }
        bot_token = load_secret(config_.integration.bot_token_source, "integration.bot_token");
        if (bot_token.empty()) spdlog::warn("no bot token configured: users will not be told how their flows ended");
    } else {
        spdlog::warn("no OAuth integration configured: start_flow is refused until 'integration' is set");
    }

    if (int rc = uv_loop_init(&loop_); rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    loop_initialized_ = true;
    try {
        open_store(default_plugin_dir);
        executor_ = std::make_unique<Executor>(&loop_, kStoreThreads);
        http_client_ = std::make_unique<HttpClient>(&loop_, HttpClientOptions{});
        outbound_ = std::make_unique<OutboundSender>(&loop_, *http_client_, RetryPolicy{}, clock_,
                                                     config_.integration.request_timeout);
        service_ = std::make_unique<TokenService>(*executor_, *store_, *outbound_, events_, clock_, config_,
                                                  std::move(client_secret), std::move(bot_token));
        service_->load_contexts();
        start_listeners();
    } catch (...) {
        abandon_start();
        throw;
    }
}

// A failed start-up: close whatever was opened, without ceremony, so that the
// loop closes and nothing leaks on the way to the fatal exit.
void Daemon::abandon_start() noexcept {
    if (http_server_) http_server_->close(std::chrono::milliseconds(0), nullptr);
    if (control_server_) control_server_->close(nullptr);
    if (sweep_timer_started_) uv_close(reinterpret_cast<uv_handle_t*>(&sweep_timer_), nullptr);
    if (http_client_) http_client_->close([] {});
    if (executor_) executor_->shutdown(nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    http_server_.reset();
    control_server_.reset();
    service_.reset();
    outbound_.reset();
    http_client_.reset();
    executor_.reset();
    store_.reset();
    uv_loop_close(&loop_);
    loop_initialized_ = false;
}

void Daemon::open_store(const std::string& default_plugin_dir) {
    const std::string plugin_dir = config_.store.plugin_dir.empty() ? default_plugin_dir : config_.store.plugin_dir;
    auto plugin = StorePlugin::load(config_.store.plugin, plugin_dir);
    spdlog::info("store plugin {} {} loaded from {} (ABI {}.{})", plugin->name(), plugin->version(), plugin->path(),
                 plugin->abi_version() >> 16, plugin->abi_version() & 0xffff);
    const std::string name = plugin->name();
    StoreLogSink sink = [name](tokend_log_level level, std::string_view message) { log_from_plugin(name, level, message); };
    const StoreStatus opened = Store::open(plugin, config_.store.options.dump(), sink, &store_);
    if (!opened.ok()) throw std::runtime_error("cannot open the " + name + " store: " + opened.describe());
}

void Daemon::start_listeners() {
    ensure_directory(std::filesystem::path(config_.control.socket).parent_path().string().empty()
                         ? "."
                         : std::filesystem::path(config_.control.socket).parent_path().string(),
                     0755, "runtime");
    ControlLimits limits;
    limits.max_line_bytes = config_.control.max_line_bytes;
    limits.max_connections = config_.control.max_connections;
    limits.idle_timeout = config_.control.idle_timeout;
    control_handler_ = std::make_unique<ControlHandler>(*service_, events_, config_.control);
    control_server_ = std::make_unique<ControlServer>(
        &loop_, limits,
        [this](const std::shared_ptr<ControlServer::Session>& session, ControlRequest&& request,
               std::function<void(std::string)> respond) {
            control_handler_->handle(session, std::move(request), std::move(respond));
        });
    control_handler_->set_server(control_server_.get());
    control_server_->listen(config_.control.socket, config_.control.mode, group_id(config_.control.group));
    spdlog::info("control socket listening on {}", config_.control.socket);

    routes_ = std::make_unique<HttpRoutes>(*service_);
    HttpLimits http_limits;
    http_limits.max_connections = config_.http.max_connections;
    http_limits.request_timeout = config_.http.request_timeout;
    http_limits.idle_timeout = config_.http.idle_timeout;
    http_server_ = std::make_unique<HttpServer>(&loop_, http_limits, [this](HttpRequest&& request, HttpResponder respond) {
        routes_->handle(std::move(request), std::move(respond));
    });
    for (const HttpListen& address : config_.http.listen) {
        const int port = http_server_->listen(address.host, address.port);
        spdlog::info("redirect endpoint listening on http://{}:{}/redirect",
                     address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host, port);
    }

    uv_timer_init(&loop_, &sweep_timer_);
    sweep_timer_started_ = true;
    sweep_timer_.data = this;
    const auto interval = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.flows.maintenance_interval).count());
    uv_timer_start(&sweep_timer_, [](uv_timer_t* timer) {
        auto* self = static_cast<Daemon*>(timer->data);
        self->service_->flow_maintenance(false, [](OpResult) {});
    }, interval, interval);
}

Daemon::~Daemon() = default;

int Daemon::run() {
    // A peer that goes away must not kill the daemon: writes get EPIPE instead.
    std::signal(SIGPIPE, SIG_IGN);
    for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
        uv_signal_init(&loop_, handle);
        handle->data = this;
        uv_signal_start(handle, [](uv_signal_t* signal, int number) {
            static_cast<Daemon*>(signal->data)->begin_shutdown(number == SIGINT ? "SIGINT" : "SIGTERM");
        }, signum);
    }
    service_->start(&loop_);
    spdlog::info("tokend {} running (pid {}): {} users; Ctrl-C or SIGTERM stops it", TOKEND_VERSION, ::getpid(),
                 service_->users());
    uv_run(&loop_, UV_RUN_DEFAULT);

    // Every handle is closed by now; a non-zero close would mean a leaked handle.
    const int closed = uv_loop_close(&loop_);
    loop_initialized_ = false;
    control_server_.reset();
    http_server_.reset();
    service_.reset();
    outbound_.reset();
    http_client_.reset();
    executor_.reset();
    store_.reset();  // flushes and closes the store last
    if (closed != 0) {
        spdlog::error("event loop still had open handles at exit ({})", uv_strerror(closed));
        return 1;
    }
    spdlog::info("tokend stopped");
    return 0;
}

// Reverse order of start-up: listeners, timers, in-flight work, provider
// client, store executor, signals.
void Daemon::begin_shutdown(const char* why) {
    if (stopping_) {
        spdlog::info("{} received again: still finishing in-flight work", why);
        return;
    }
    stopping_ = true;
    spdlog::info("{} received: shutting down (no new connections; finishing in-flight requests)", why);
    uv_timer_stop(&sweep_timer_);
    close_handle(reinterpret_cast<uv_handle_t*>(&sweep_timer_), &pending_closes_);
    auto listeners_left = std::make_shared<int>(2);
    auto one_closed = [this, listeners_left] {
        if (--*listeners_left == 0) after_listeners_closed();
    };
    control_server_->close(one_closed);
    http_server_->close(kHttpGrace, one_closed);
}

void Daemon::after_listeners_closed() {
    // In-flight redirects and store writes finish; past the deadline, provider
    // retries still waiting are cancelled so shutdown cannot hang on them.
    auto* deadline = new uv_timer_t;
    uv_timer_init(&loop_, deadline);
    deadline->data = this;
    uv_timer_start(deadline, [](uv_timer_t* timer) {
        auto* self = static_cast<Daemon*>(timer->data);
        spdlog::warn("shutdown: in-flight work did not finish within {} s; cancelling provider retries",
                     kDrainDeadline.count() / 1000);
        self->outbound_->close([] {});
    }, static_cast<uint64_t>(kDrainDeadline.count()), 0);
    service_->drain([this, deadline] {
        uv_timer_stop(deadline);
        uv_close(reinterpret_cast<uv_handle_t*>(deadline), [](uv_handle_t* handle) {
            delete reinterpret_cast<uv_timer_t*>(handle);
        });
        outbound_->close([this] {
            http_client_->close([this] {
                executor_->shutdown([this] { close_last_handles(); });
            });
        });
    });
}

void Daemon::close_last_handles() {
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
}

}  // namespace tokend
