#include "sentinel.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <charconv>
#include <csignal>
#include <stdexcept>

namespace tokend::redis_store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPingEvery = std::chrono::milliseconds(1000);

std::string_view text_of(const redisReply& reply) {
    return reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
}

bool parse_port(std::string_view text, uint16_t* port) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *port);
    return error == std::errc() && end == text.data() + text.size() && *port != 0;
}

std::string describe(const SentinelAddress& sentinel) {
    return "sentinel " + sentinel.host + ":" + std::to_string(sentinel.port);
}

}  // namespace

MasterTracker::MasterTracker(Endpoint base, std::vector<SentinelAddress> sentinels, std::string master_name,
                             uint32_t connect_timeout_ms, uint32_t command_timeout_ms, Log log)
    : base_(std::move(base)),
      sentinels_(std::move(sentinels)),
      master_name_(std::move(master_name)),
      connect_timeout_ms_(connect_timeout_ms),
      command_timeout_ms_(command_timeout_ms),
      log_(std::move(log)) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

MasterTracker::~MasterTracker() {
    stopping_ = true;
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
        // cannot overflow; the thread also checks stopping_
    }
    if (thread_.joinable()) thread_.join();
    close(wake_fd_);
}

Endpoint MasterTracker::current(uint64_t* generation) const {
    std::lock_guard<std::mutex> hold(mutex_);
    Endpoint endpoint = base_;
    endpoint.unix_path.clear();
    endpoint.host = host_;
    endpoint.port = port_;
    *generation = generation_.load();
    return endpoint;
}

void MasterTracker::move_to(const std::string& host, uint16_t port, const char* why) {
    {
        std::lock_guard<std::mutex> hold(mutex_);
        if (host == host_ && port == port_) return;
        const bool first = host_.empty();
        host_ = host;
        port_ = port;
        ++generation_;
        if (first) return;
    }
    log_(TOKEND_LOG_WARN, "redis sentinel: master " + master_name_ + " moved to " + host + ":" +
                              std::to_string(port) + " (" + why + "); reconnecting there");
}

Status MasterTracker::watch(const SentinelAddress& sentinel, std::unique_ptr<Connection>* out) {
    Endpoint at;
    at.host = sentinel.host;
    at.port = sentinel.port;
    std::unique_ptr<Connection> connection;
    if (Status status = Connection::open(at, connect_timeout_ms_, command_timeout_ms_, &connection);
        !status.ok()) {
        return status;
    }
    Reply reply;
    if (Status status = connection->command({"SENTINEL", "get-master-addr-by-name", master_name_}, &reply);
        !status.ok()) {
        return status;
    }
    uint16_t port = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING ||
        !parse_port(text_of(*reply->element[1]), &port)) {
        return Status::error(TOKEND_UNAVAILABLE, describe(sentinel) + " does not know the master " +
                                                     master_name_);
    }
    move_to(std::string(text_of(*reply->element[0])), port, "asked the sentinels");
    if (out == nullptr) return Status::success();
    if (Status status = connection->command({"SUBSCRIBE", "+switch-master"}, &reply); !status.ok()) {
        return status;
    }
    *out = std::move(connection);
    return Status::success();
}

Status MasterTracker::resolve() {
    std::string why;
    for (const SentinelAddress& sentinel : sentinels_) {
        Status status = watch(sentinel, nullptr);
        if (status.ok()) return status;
        why += (why.empty() ? "" : "; ") + status.message;
    }
    return Status::error(TOKEND_UNAVAILABLE, "redis sentinel: no sentinel named the master " + master_name_ +
                                                 ": " + why);
}

void MasterTracker::start() {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    thread_ = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

bool MasterTracker::pause(int ms) {
    pollfd wake{wake_fd_, POLLIN, 0};
    poll(&wake, 1, ms);
    return !stopping_;
}

void MasterTracker::run() {
    size_t next = 0;
    while (!stopping_) {
        const SentinelAddress& sentinel = sentinels_[next];
        next = (next + 1) % sentinels_.size();
        std::unique_ptr<Connection> connection;
        Status status = watch(sentinel, &connection);
        if (status.ok()) status = listen(*connection);
        if (stopping_) break;
        log_(TOKEND_LOG_WARN, "redis sentinel: " + status.message + "; trying the next sentinel");
        if (!pause(next == 0 ? 500 : 0)) break;  // a short rest after a round of them all
    }
}

Status MasterTracker::listen(Connection& connection) {
    auto last_heard = Clock::now();
    auto ping_sent = Clock::time_point{};
    const auto answer_within = std::chrono::milliseconds(command_timeout_ms_);
    while (!stopping_) {
        Reply reply;
        if (Status status = connection.next_reply(&reply); !status.ok()) return status;
        if (reply != nullptr) {
            last_heard = Clock::now();
            ping_sent = {};
            // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
            if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
                reply->element[2]->type == REDIS_REPLY_STRING && text_of(*reply->element[0]) == "message") {
                std::string_view text = text_of(*reply->element[2]);
                std::vector<std::string_view> words;
                while (!text.empty()) {
                    const size_t space = text.find(' ');
                    words.push_back(text.substr(0, space));
                    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
                }
                uint16_t port = 0;
                if (words.size() == 5 && words[0] == master_name_ && parse_port(words[4], &port)) {
                    move_to(std::string(words[3]), port, "+switch-master");
                }
            }
            continue;
        }
        const auto now = Clock::now();
        if (ping_sent != Clock::time_point{} && now - ping_sent > answer_within) {
            return Status::error(TOKEND_UNAVAILABLE, "sentinel " + connection.endpoint().describe() +
                                                         " did not answer a PING in time");
        }
        if (ping_sent == Clock::time_point{} && now - last_heard >= kPingEvery) {
            if (Status status = connection.send({"PING"}); !status.ok()) return status;
            ping_sent = now;
        }
        pollfd fds[2] = {{connection.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (poll(fds, 2, 100) < 0 && errno != EINTR) {
            return Status::error(TOKEND_UNAVAILABLE, "poll failed on the sentinel connection");
        }
        if (fds[0].revents != 0) {
            if (Status status = connection.read_some(); !status.ok()) return status;
        }
    }
    return Status::success();
}

Endpoint master_endpoint(const Options& options, uint64_t* generation) {
    if (options.master) return options.master->current(generation);
    *generation = 0;
    return options.endpoint;
}

}  // namespace tokend::redis_store
