#include "app/daemon.h"

#include "app/config_check.h"
#include "app/link_key.h"
#include "app/logging.h"
#include "app/process_limits.h"
#include "app/process_metrics.h"
#include "app/reencrypt.h"
#include "app/secret_loader.h"
#include "app/service_manager.h"
#include "config/config_reload.h"
#include "core/fd_budget.h"

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
constexpr size_t kMetricsConnections = 16;

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

// An address as it stands in a URL: IPv6 in brackets.
std::string url_host(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
    return text;
}

// One integration with its secrets read (at start and on reload) and its
// texts. Throws with a message that names the source, never the secret.
Integration load_integration(const Config& config, const IntegrationConfig& integration, bool listed) {
    Integration loaded;
    loaded.name = integration.name;
    loaded.configured = integration.configured;
    loaded.oauth = integration.oauth;
    loaded.messages = messages_of(config, integration);
    loaded.request_timeout = integration.request_timeout;
    if (!integration.configured) return loaded;
    // The single section keeps its messages ("integration.client_secret"); a listed one is named.
    const std::string key = listed ? "integration " + integration.name + " " : std::string("integration.");
    loaded.oauth.client_secret = load_secret(integration.client_secret_source, key + "client_secret");
    if (loaded.oauth.client_secret.empty()) {
        throw std::runtime_error(key + "client_secret is not set: give {file: PATH} or {env: NAME}, or a "
                                 "systemd credential called " + integration.client_secret_source.credential_name);
    }
    loaded.bot_token = load_secret(integration.bot_token_source, key + "bot_token");
    if (loaded.bot_token.empty() && !integration.oauth.provider.message.url.empty()) {
        spdlog::warn("no bot token configured: users will not be told how their flows ended (set {}bot_token)", key);
    }
    return loaded;
}

// Every integration, the default first (core/integrations.h).
IntegrationSet load_integrations(const Config& config) {
    const bool listed = !config.other_integrations.empty() || config.integration.name != "default";
    std::vector<Integration> all;
    all.push_back(load_integration(config, config.integration, listed));
    for (const IntegrationConfig& other : config.other_integrations) all.push_back(load_integration(config, other, true));
    return IntegrationSet(std::move(all));
}

// Descriptors kept beside the connection caps: the provider's transfers, the
// metrics listener's connections (metrics.listen, or a socket passed as
// "metrics"), and a connection per store thread, per re-encryption writer
// beside the store thread it runs on, plus a subscriber (core/fd_budget).
uint64_t descriptors_reserved(const Config& config, bool metrics_socket_passed) {
    const bool metrics = !config.metrics.listen.empty() || metrics_socket_passed;
    return fd_reserve(HttpClientOptions{}.max_concurrent, metrics ? kMetricsConnections : 0,
                      kStoreThreads + Reencryptor::kWriters);
}

}  // namespace

Daemon::Daemon(const Config& config, DaemonOptions options) : config_(config), options_(std::move(options)) {
    metrics_socket_passed_ = activated_socket_named("metrics");
    fit_connections_to_fd_limit(&config_, descriptors_reserved(config_, metrics_socket_passed_));
    ensure_directory(config_.state_dir, 0700, "state");
    IntegrationSet integrations = load_integrations(config_);
    if (!config_.integration.configured) {
        spdlog::warn("no OAuth integration configured: start_flow is refused until 'integration' is set");
    } else if (integrations.several()) {
        std::string names;
        for (const Integration& integration : integrations.all()) names += (names.empty() ? "" : ", ") + integration.name;
        spdlog::info("integrations: {} (the default: {})", names, integrations.default_integration().name);
    }

    if (int rc = uv_loop_init(&loop_); rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    try {
        timers_ = std::make_unique<LoopTimers>(&loop_);
        open_store(options_.default_plugin_dir);
        executor_ = std::make_unique<Executor>(&loop_, kStoreThreads);
        http_client_ = std::make_unique<HttpClient>(&loop_, HttpClientOptions{});
        outbound_ = std::make_unique<OutboundSender>(&loop_, *http_client_, RetryPolicy{}, clock_,
                                                     config_.integration.request_timeout);
        outbound_->set_observer([this](const OutboundHttp& request, int status, std::chrono::steady_clock::duration took) {
            metrics_.observe_provider(request, status, took);
        });
        service_ = std::make_unique<TokenService>(*executor_, *store_, *outbound_, events_, clock_, config_,
                                                  std::move(integrations));
        std::vector<std::string> names;
        for (const Integration& integration : service_->integrations().all()) names.push_back(integration.name);
        metrics_.set_integrations(names);
        if (config_.integration.configured) service_->set_link_key(load_link_key(config_));
        service_->set_cipher(StoreCipher::from_config(config_.encryption));
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
    if (metrics_server_) metrics_server_->close(std::chrono::milliseconds(0), nullptr);
    if (http_server_) http_server_->close(std::chrono::milliseconds(0), nullptr);
    if (control_server_) control_server_->close(nullptr);
    sweep_timer_.close();
    if (http_client_) http_client_->close([] {});
    if (executor_) executor_->shutdown(nullptr);
    if (timers_) timers_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    metrics_server_.reset();
    http_server_.reset();
    control_server_.reset();
    service_.reset();
    outbound_.reset();
    http_client_.reset();
    executor_.reset();
    store_.reset();
    uv_loop_close(&loop_);
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
    store_->set_call_observer([this](std::string_view operation, std::chrono::steady_clock::duration took,
                                     const StoreStatus& status) { metrics_.observe_store(operation, took, status); });
}

void Daemon::start_listeners() {
    const ActivatedSockets activated = take_activated_sockets();
    ControlLimits limits;
    limits.max_line_bytes = config_.control.max_line_bytes;
    limits.max_connections = config_.control.max_connections;
    limits.idle_timeout = config_.control.idle_timeout;
    control_handler_ = std::make_unique<ControlHandler>(*service_, events_, config_.control);
    control_server_ = std::make_unique<ControlServer>(
        &loop_, limits,
        [this](const std::shared_ptr<ControlServer::Session>& session, ControlRequest&& request,
               ControlServer::Responder respond) {
            control_handler_->handle(session, std::move(request), std::move(respond));
        });
    control_handler_->set_server(control_server_.get());
    if (activated.control >= 0) {
        // The socket unit decides path, mode and group; control.socket/mode/group are not used.
        control_server_->adopt(activated.control);
        spdlog::info("control socket: serving the one passed by the service manager");
    } else {
        const std::filesystem::path parent = std::filesystem::path(config_.control.socket).parent_path();
        ensure_directory(parent.empty() ? "." : parent.string(), 0755, "runtime");
        control_server_->listen(config_.control.socket, config_.control.mode, group_id(config_.control.group));
        spdlog::info("control socket listening on {}", config_.control.socket);
    }

    routes_ = std::make_unique<HttpRoutes>(*service_);
    HttpLimits http_limits;
    http_limits.max_connections = config_.http.max_connections;
    http_limits.request_timeout = config_.http.request_timeout;
    http_limits.idle_timeout = config_.http.idle_timeout;
    http_server_ = std::make_unique<HttpServer>(&loop_, http_limits, [this](HttpRequest&& request, HttpResponder respond) {
        routes_->handle(std::move(request), std::move(respond));
    });
    if (!activated.http.empty()) {
        for (const int fd : activated.http) {
            const int port = http_server_->adopt(fd);
            spdlog::info("redirect endpoint listening on an activated socket, port {}", port);
        }
    } else {
        for (const HttpListen& address : config_.http.listen) {
            const int port = http_server_->listen(address.host, address.port);
            spdlog::info("redirect endpoint listening on http://{}:{}/redirect", url_host(address.host), port);
        }
    }
    start_metrics(activated.metrics);
    start_sweep_timer();
}

// GET /metrics on listeners of its own (never the public one), so that it can
// stay on loopback or behind a firewall while /redirect faces the internet.
void Daemon::start_metrics(const std::vector<int>& activated) {
    if (activated.empty() && config_.metrics.listen.empty()) return;
    HttpLimits limits;
    limits.max_connections = kMetricsConnections;
    limits.request_timeout = config_.http.request_timeout;
    limits.idle_timeout = config_.http.idle_timeout;
    metrics_server_ = std::make_unique<HttpServer>(&loop_, limits, [this](HttpRequest&& request, HttpResponder respond) {
        if (request.path == "/readyz") {  // for a probe that may reach only this listener
            serve_readiness(*service_, request, std::move(respond));
            return;
        }
        metrics_.serve(request, std::move(respond), [this](auto done) { metrics_snapshot(std::move(done)); });
    });
    if (!activated.empty()) {
        for (const int fd : activated) {
            spdlog::info("metrics listening on an activated socket, port {}", metrics_server_->adopt(fd));
        }
        return;
    }
    for (const HttpListen& address : config_.metrics.listen) {
        const int port = metrics_server_->listen(address.host, address.port);
        spdlog::info("metrics listening on http://{}:{}/metrics", url_host(address.host), port);
    }
}

// The service's state for one scrape; pending flows live in the store, so
// they are counted on the executor and the snapshot is handed over after.
void Daemon::metrics_snapshot(std::function<void(MetricsSnapshot)> done) {
    MetricsSnapshot snapshot;
    snapshot.service = service_->stats();
    snapshot.control_clients = control_server_ ? control_server_->connections() : 0;
    snapshot.http_connections = http_server_ ? http_server_->connections() : 0;
    snapshot.process = sample_process();
    service_->count_pending_flows([snapshot, done = std::move(done)](long long pending) mutable {
        snapshot.pending_flows = pending;
        done(std::move(snapshot));
    });
}

void Daemon::start_sweep_timer() {
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(config_.flows.maintenance_interval);
    sweep_timer_.start(&loop_, interval, interval, [this] { service_->flow_maintenance_tick(); });
}

// WATCHDOG=1 from the loop itself: a loop stuck in a callback stops the
// keep-alives and the service manager restarts tokend. The status line rides
// along when it changed (users, store health), so `systemctl status` stays current.
void Daemon::start_watchdog() {
    const auto interval = watchdog_keepalive_interval();
    if (interval.count() == 0) return;
    const auto ms = std::max<uint64_t>(1, static_cast<uint64_t>(interval.count() / 1000));
    const std::chrono::milliseconds every(ms);
    watchdog_timer_.start(&loop_, every, every, [this] {
        std::string state = "WATCHDOG=1";
        if (!stopping_) {
            std::string status = status_line();
            if (status != last_status_) {
                state += "\nSTATUS=" + status;
                last_status_ = std::move(status);
            }
        }
        notify_service_manager(state);
    });
    spdlog::info("watchdog: keep-alive every {} ms", ms);
}

std::string Daemon::status_line() const {
    std::string line = "serving " + std::to_string(service_->users()) + " users";
    if (!service_->store_healthy()) line += "; store unavailable";
    if (!restart_needed_for_.empty()) line += "; restart needed for " + restart_needed_for_;
    return line;
}

// SIGHUP: check the configuration as --check-config does (the file, the store
// plugin's verdict on its options, every secret) and apply nothing unless it
// passes: every problem is logged and everything keeps running as it was.
// Then read the secrets again, apply what is safe, report what needs a
// restart. The check blocks (the plugin may parse its files), so it runs on
// the executor; a SIGHUP during a check is folded into one more reload after it.
void Daemon::reload() {
    if (stopping_) return;
    if (reload_running_) {
        reload_again_ = true;
        spdlog::info("SIGHUP received while a reload is being checked: reloading again after it");
        return;
    }
    notify_service_manager("RELOADING=1");
    const std::string source = options_.config_path.empty() ? "embedded default" : options_.config_path;
    spdlog::info("SIGHUP received: checking {} before reloading", source);
    const ConfigCheckInput input{options_.config_path, options_.env, options_.log_level_override,
                                 options_.default_plugin_dir};
    reload_running_ = executor_->submit<ConfigCheck>(
        [input] {
            try {
                return check_configuration(input);
            } catch (const std::exception& error) {
                ConfigCheck failed;
                failed.problems.push_back(std::string("cannot check the configuration: ") + error.what());
                return failed;
            }
        },
        [this](ConfigCheck check) {
            reload_running_ = false;
            if (stopping_) return;
            apply_reload(std::move(check));
            if (reload_again_) {
                reload_again_ = false;
                reload();
            }
        });
}

void Daemon::apply_reload(ConfigCheck check) {
    if (!check.ok()) {
        for (const std::string& problem : check.problems) spdlog::error("reload: {}", problem);
        spdlog::error("reload failed: {} problem{} in {}; nothing changed, still running with the previous "
                      "configuration",
                      check.problems.size(), check.problems.size() == 1 ? "" : "s", check.source);
        last_status_ = status_line() + "; last reload failed (see the log)";
        notify_service_manager("READY=1\nSTATUS=" + last_status_);
        return;
    }
    for (const std::string& note : check.notes) spdlog::info("reload: {}", note);
    try {
        Config next = std::move(check.config);
        // Caps as they were clamped at start, so an unchanged file is not a change.
        fit_connections_to_fd_limit(&next, descriptors_reserved(next, metrics_socket_passed_));
        const ReloadPlan plan = plan_reload(config_, next);
        // Secrets come from the new sources; a missing one fails the reload as a whole.
        Config sources = config_;
        apply_reloadable(&sources, next);
        const IntegrationSet integrations = load_integrations(sources);
        const auto old_interval = config_.flows.maintenance_interval;
        apply_reloadable(&config_, next);
        set_log_level(config_.log.level);
        service_->reconfigure(integrations);
        if (config_.flows.maintenance_interval != old_interval) start_sweep_timer();
        spdlog::info("reload: applied{}; secrets read again", plan.applied.empty() ? " (no key changed)"
                                                                                   : ": " + joined(plan.applied));
        restart_needed_for_ = joined(plan.restart_required);
        if (!plan.restart_required.empty()) {
            spdlog::warn("reload: not applied, needs a restart: {} (still running with the old values)",
                         restart_needed_for_);
        }
        last_status_ = status_line();
        notify_service_manager("READY=1\nSTATUS=" + last_status_);
    } catch (const std::exception& error) {
        spdlog::error("reload failed, still running with the previous configuration: {}", error.what());
        last_status_ = status_line() + "; last reload failed (see the log)";
        notify_service_manager("READY=1\nSTATUS=" + last_status_);
    }
}

Daemon::~Daemon() = default;

int Daemon::run() {
    // A peer that goes away must not kill the daemon: writes get EPIPE instead.
    std::signal(SIGPIPE, SIG_IGN);
    sigint_.start(&loop_, SIGINT, [this] { begin_shutdown("SIGINT"); });
    sigterm_.start(&loop_, SIGTERM, [this] { begin_shutdown("SIGTERM"); });
    sighup_.start(&loop_, SIGHUP, [this] { reload(); });
    start_watchdog();
    service_->start(&loop_);
    spdlog::info("tokend {} running (pid {}): {} users; Ctrl-C or SIGTERM stops it, SIGHUP reloads", TOKEND_VERSION,
                 ::getpid(), service_->users());
    // Listeners are bound and the store is open: from here on requests are served.
    last_status_ = status_line();
    notify_service_manager("READY=1\nSTATUS=" + last_status_);
    uv_run(&loop_, UV_RUN_DEFAULT);

    // Every handle is closed by now; a non-zero close would mean a leaked handle.
    const int closed = uv_loop_close(&loop_);
    control_server_.reset();
    http_server_.reset();
    metrics_server_.reset();
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
    notify_service_manager(std::string("STOPPING=1\nSTATUS=stopping (") + why + "): finishing in-flight requests");
    sweep_timer_.close();
    auto listeners_left = std::make_shared<int>(metrics_server_ ? 3 : 2);
    auto one_closed = [this, listeners_left] {
        if (--*listeners_left == 0) after_listeners_closed();
    };
    control_server_->close(one_closed);
    http_server_->close(kHttpGrace, one_closed);
    if (metrics_server_) metrics_server_->close(std::chrono::milliseconds(0), one_closed);
}

void Daemon::after_listeners_closed() {
    // In-flight redirects and store writes finish; past the deadline, provider
    // retries still waiting are cancelled so shutdown cannot hang on them.
    drain_deadline_.start(&loop_, kDrainDeadline, std::chrono::milliseconds(0), [this] {
        spdlog::warn("shutdown: in-flight work did not finish within {} s; cancelling provider retries",
                     kDrainDeadline.count() / 1000);
        outbound_->close([] {});
    });
    service_->drain([this] {
        drain_deadline_.close();
        outbound_->close([this] {
            http_client_->close([this] {
                executor_->shutdown([this] { close_last_handles(); });
            });
        });
    });
}

// The watchdog keeps beating until here: a slow drain is not a hang.
void Daemon::close_last_handles() {
    watchdog_timer_.close();
    sighup_.close();
    sigterm_.close();
    sigint_.close();
    timers_->close();  // a timer still set (none should be) carries on with libuv
}

}  // namespace tokend
