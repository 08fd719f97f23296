// The running daemon: owns the event loop and every component; starts them in
// order and stops them in reverse (Knot's daemon/main.c).
#pragma once

#include "app/config_check.h"
#include "app/control_handler.h"
#include "app/event_hub.h"
#include "app/http_routes.h"
#include "app/metrics.h"
#include "app/outbound_sender.h"
#include "app/system_clock.h"
#include "app/token_service.h"
#include "config/config.h"
#include "host/store.h"
#include "io/control_server.h"
#include "io/executor.h"
#include "io/http_client.h"
#include "io/http_server.h"
#include "io/loop_timers.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <memory>
#include <string>

namespace tokend {

// Where the configuration came from, so that SIGHUP can read it again.
struct DaemonOptions {
    std::string config_path;         // empty: the embedded default
    ConfigEnvironment env;
    std::string log_level_override;  // --log-level, kept across reloads
    std::string default_plugin_dir;
};

class Daemon {
public:
    // Opens the store, reads secrets and contexts, binds the listeners (or takes
    // the ones passed by socket activation). Throws PluginLoadError, ConfigError
    // or std::runtime_error with an operator-facing message on failure.
    Daemon(const Config& config, DaemonOptions options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Tells the service manager it is ready, runs until SIGINT or SIGTERM, then
    // shuts down gracefully. SIGHUP reloads. Returns the exit code.
    int run();

private:
    void open_store(const std::string& default_plugin_dir);
    void start_listeners();
    void start_metrics(const std::vector<int>& activated);
    void metrics_snapshot(std::function<void(MetricsSnapshot)> done);
    void start_sweep_timer();
    void start_watchdog();
    void reload();
    void apply_reload(ConfigCheck check);
    std::string status_line() const;
    void begin_shutdown(const char* why);
    void after_listeners_closed();
    void close_last_handles();
    void abandon_start() noexcept;

    Config config_;
    DaemonOptions options_;
    SystemClock clock_;
    Metrics metrics_;
    uv_loop_t loop_{};
    std::unique_ptr<LoopTimers> timers_;  // the loop's long-lived timers; closed last
    std::unique_ptr<Store> store_;
    std::unique_ptr<Executor> executor_;
    std::unique_ptr<HttpClient> http_client_;
    std::unique_ptr<OutboundSender> outbound_;
    EventHub events_;
    std::unique_ptr<TokenService> service_;
    std::unique_ptr<ControlHandler> control_handler_;
    std::unique_ptr<ControlServer> control_server_;
    std::unique_ptr<HttpRoutes> routes_;
    std::unique_ptr<HttpServer> http_server_;
    std::unique_ptr<HttpServer> metrics_server_;  // only with metrics.listen or an activated metrics socket
    UvTimer sweep_timer_;
    UvTimer watchdog_timer_;
    UvTimer drain_deadline_;  // shutdown: past it, provider retries are cancelled
    std::string last_status_;         // the STATUS= last sent with READY or a keep-alive
    std::string restart_needed_for_;  // keys a reload could not apply, for STATUS=
    UvSignal sigint_;
    UvSignal sigterm_;
    UvSignal sighup_;
    bool metrics_socket_passed_ = false;  // socket activation passed one named "metrics" (its descriptors are budgeted)
    bool stopping_ = false;
    bool reload_running_ = false;  // a reload's check is on the executor
    bool reload_again_ = false;    // a SIGHUP came meanwhile
};

}  // namespace tokend
