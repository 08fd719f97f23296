#include "app/service_manager.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace tokend {
namespace {

enum class SocketKind { unix_stream, tcp, other };

SocketKind kind_of(int fd) {
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0) return SocketKind::unix_stream;
    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0) return SocketKind::tcp;
    return SocketKind::other;
}

}  // namespace

void notify_service_manager(std::string_view state) {
    if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
    const int rc = sd_notify(0, std::string(state).c_str());
    if (rc < 0) spdlog::debug("service manager notification failed: {}", std::strerror(-rc));
}

std::chrono::microseconds watchdog_keepalive_interval() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::microseconds(0);
    return std::chrono::microseconds(usec / 2);
}

ActivatedSockets take_activated_sockets() {
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(1, &names);
    ActivatedSockets sockets;
    if (count < 0) throw std::runtime_error(std::string("cannot read $LISTEN_FDS: ") + std::strerror(-count));
    std::string problem;
    for (int i = 0; i < count; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        const std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
        const SocketKind kind = kind_of(fd);
        const bool control = name == "control" || (name != "http" && name != "metrics" && kind == SocketKind::unix_stream);
        if (control && kind == SocketKind::unix_stream && sockets.control < 0) {
            sockets.control = fd;
        } else if (!control && kind == SocketKind::tcp) {
            (name == "metrics" ? sockets.metrics : sockets.http).push_back(fd);
        } else if (problem.empty()) {
            problem = "activated socket " + std::to_string(fd) + " (" + name +
                      ") is not a listening Unix stream socket for control or TCP socket for http/metrics, "
                      "or a second control socket";
        }
    }
    if (names != nullptr) {
        for (int i = 0; i < count; ++i) std::free(names[i]);
        std::free(names);
    }
    if (!problem.empty()) {
        for (int i = 0; i < count; ++i) ::close(SD_LISTEN_FDS_START + i);
        throw std::runtime_error(problem);
    }
    if (count > 0) {
        spdlog::info("socket activation: {} socket(s): control {}, http {}, metrics {}", count,
                     sockets.control >= 0 ? "yes" : "no", sockets.http.size(), sockets.metrics.size());
    }
    return sockets;
}

bool activated_socket_named(std::string_view name) {
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(0, &names);  // a bad $LISTEN_FDS: take_activated_sockets says so
    bool found = false;
    for (int i = 0; i < count; ++i) {
        if (names != nullptr && names[i] != nullptr && name == names[i]) found = true;
    }
    if (names != nullptr) {
        for (int i = 0; i < count; ++i) std::free(names[i]);
        std::free(names);
    }
    return found;
}

}  // namespace tokend
