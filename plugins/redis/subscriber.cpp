#include "subscriber.h"

#include "sentinel.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>

namespace tokend::redis_store {
namespace {

using Clock = std::chrono::steady_clock;

// A PING every this long when nothing else arrives; no answer within the command
// timeout after it means the connection is dead (a frozen or unplugged Redis).
constexpr auto kPingEvery = std::chrono::milliseconds(1000);

bool is_array_of(const redisReply& reply, size_t count, const char* kind) {
    return reply.type == REDIS_REPLY_ARRAY && reply.elements == count &&
           reply.element[0]->type == REDIS_REPLY_STRING &&
           std::string_view(reply.element[0]->str, reply.element[0]->len) == kind;
}

}  // namespace

Subscriber::Subscriber(Options options, std::string channel, std::string own_origin,
                       tokend_change_fn fn, void* fn_ctx, Log log)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      own_origin_(std::move(own_origin)),
      fn_(fn),
      fn_ctx_(fn_ctx),
      log_(std::move(log)) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
    if (Status status = subscribe(&first_); !status.ok()) {
        log_(TOKEND_LOG_WARN, "redis change notifications: " + status.message + "; retrying");
    }
    // The thread takes no signals: SIGPIPE from its writes, and the host's
    // signals, go elsewhere.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    thread_ = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

Subscriber::~Subscriber() {
    stopping_ = true;
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
        // The counter cannot overflow here; the thread also polls stopping_.
    }
    if (thread_.joinable()) thread_.join();
    close(wake_fd_);
}

bool Subscriber::pause(int ms) {
    pollfd wake{wake_fd_, POLLIN, 0};
    poll(&wake, 1, ms);
    return !stopping_;
}

Status Subscriber::subscribe(std::unique_ptr<Connection>* out) {
    std::unique_ptr<Connection> connection;
    uint64_t generation = 0;
    const Endpoint endpoint = master_endpoint(options_, &generation);
    Status status =
        Connection::open(endpoint, options_.connect_timeout_ms, options_.command_timeout_ms, &connection);
    if (!status.ok()) return status;
    connection->generation = generation;
    // SUBSCRIBE, then wait (within the command timeout) for its confirmation.
    Reply reply;
    if (status = connection->command({"SUBSCRIBE", channel_}, &reply); !status.ok()) return status;
    if (!is_array_of(*reply, 3, "subscribe")) {
        return Status::error(TOKEND_UNAVAILABLE, "redis refused SUBSCRIBE " + channel_);
    }
    *out = std::move(connection);
    return Status::success();
}

void Subscriber::run() {
    std::unique_ptr<Connection> connection = std::move(first_);
    bool lost = connection == nullptr;  // the first subscribe failed: report RESYNC on success
    int backoff_ms = 50;
    while (!stopping_) {
        if (connection == nullptr) {
            Status status = subscribe(&connection);
            if (!status.ok()) {
                if (!pause(backoff_ms)) break;
                backoff_ms = std::min(backoff_ms * 2, 1000);
                continue;
            }
            backoff_ms = 50;
        }
        if (lost) {
            log_(TOKEND_LOG_INFO, "redis change notifications: subscribed again to " + channel_ +
                                      "; changes may have been missed, asking for a resync");
            fn_(fn_ctx_, TOKEND_NS_USER, TOKEND_CHANGE_RESYNC, "", 0);
            lost = false;
        }
        const Status status = listen(*connection);
        connection.reset();
        if (stopping_) break;
        log_(TOKEND_LOG_WARN, "redis change notifications: " + status.message + "; reconnecting");
        lost = true;
    }
}

Status Subscriber::listen(Connection& connection) {
    auto last_heard = Clock::now();
    auto ping_sent = Clock::time_point{};
    const auto answer_within = std::chrono::milliseconds(options_.command_timeout_ms);
    while (!stopping_) {
        if (options_.master && options_.master->generation() != connection.generation) {
            return Status::error(TOKEND_UNAVAILABLE, "the Sentinel master moved");
        }
        // Deliver whatever is already parsed before waiting for more.
        Reply reply;
        if (Status status = connection.next_reply(&reply); !status.ok()) return status;
        if (reply != nullptr) {
            last_heard = Clock::now();
            ping_sent = {};
            deliver(*reply);
            continue;
        }
        const auto now = Clock::now();
        if (ping_sent != Clock::time_point{} && now - ping_sent > answer_within) {
            return Status::error(TOKEND_UNAVAILABLE, "redis " + connection.endpoint().describe() +
                                                         " did not answer a PING in time");
        }
        if (ping_sent == Clock::time_point{} && now - last_heard >= kPingEvery) {
            if (Status status = connection.send({"PING"}); !status.ok()) return status;
            ping_sent = now;
        }
        // Over TLS, bytes OpenSSL already holds do not make the socket readable.
        pollfd fds[2] = {{connection.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (poll(fds, 2, connection.pending() ? 0 : 100) < 0 && errno != EINTR) {
            return Status::error(TOKEND_UNAVAILABLE, "poll failed on the subscriber connection");
        }
        if (fds[0].revents != 0 || connection.pending()) {
            if (Status status = connection.read_some(); !status.ok()) return status;
        }
    }
    return Status::success();
}

ReplyKind classify_reply(const redisReply& reply, ChangeMessage* change) {
    if (!is_array_of(reply, 3, "message")) return ReplyKind::other;  // subscribe confirmations, PING answers
    const redisReply& payload = *reply.element[2];
    if (payload.type != REDIS_REPLY_STRING) return ReplyKind::other;
    const auto decoded = decode_change(std::string_view(payload.str, payload.len));
    if (!decoded) return ReplyKind::foreign_message;
    *change = *decoded;
    return ReplyKind::change;
}

void Subscriber::deliver(const redisReply& reply) {
    ChangeMessage change{};
    switch (classify_reply(reply, &change)) {
        case ReplyKind::other: return;
        case ReplyKind::foreign_message:
            log_(TOKEND_LOG_WARN, "redis change notifications: ignored a message that is not tokend's on " +
                                      channel_);
            return;
        case ReplyKind::change: break;
    }
    if (change.origin == own_origin_) return;  // our own write
    fn_(fn_ctx_, change.ns, change.change, change.key.data(), change.key.size());
}

}  // namespace tokend::redis_store
