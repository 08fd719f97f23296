// The service manager's side channels (systemd's protocols, through
// libsystemd): readiness, status and stopping through $NOTIFY_SOCKET, watchdog
// keep-alives, and listening sockets handed over by socket activation
// ($LISTEN_FDS). Without a service manager every call here does nothing, so
// tokend runs the same by hand, under systemd, or under anything that speaks
// these protocols.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// Sends one notification ("READY=1\nSTATUS=..."). Does nothing when
// $NOTIFY_SOCKET is unset; a failure to send is logged at debug level only (the
// manager's problem, not a reason to stop serving).
void notify_service_manager(std::string_view state);

// How often to send WATCHDOG=1: half of $WATCHDOG_USEC when the watchdog is on
// for this process ($WATCHDOG_PID unset or ours), else zero.
std::chrono::microseconds watchdog_keepalive_interval();

// Listening sockets passed by the service manager, sorted by role. The fds are
// owned by the caller from here on (close-on-exec is set).
struct ActivatedSockets {
    int control = -1;          // a Unix stream socket: the control socket
    std::vector<int> http;     // TCP: the public redirect endpoint
    std::vector<int> metrics;  // TCP: GET /metrics
    bool any() const { return control >= 0 || !http.empty() || !metrics.empty(); }
};

// Takes the sockets of $LISTEN_FDS (for this pid) and unsets the variables so
// they are not inherited. A socket's role is its FileDescriptorName= ("control",
// "http", "metrics"); any other name (systemd's default is the socket unit's
// name) is sorted by type: Unix stream, control; TCP, http. Throws
// std::runtime_error, after closing every passed fd, for a socket it cannot
// place (two control sockets, a datagram socket, a TCP socket named "control"),
// so a unit file mistake stops start-up with a clear message.
ActivatedSockets take_activated_sockets();

// Whether $LISTEN_FDNAMES (for this pid) names a socket `name`, without taking
// anything: the descriptor budget is planned before the sockets are taken.
bool activated_socket_named(std::string_view name);

}  // namespace tokend
