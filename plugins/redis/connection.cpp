#include "connection.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace tokend::redis_store {
namespace {

timeval to_timeval(uint32_t ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    return tv;
}

sigset_t pipe_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
}

bool sigpipe_pending() {
    sigset_t pending;
    sigemptyset(&pending);
    return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

}  // namespace

SigpipeGuard::SigpipeGuard() {
    const sigset_t set = pipe_set();
    pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
    was_pending_ = sigpipe_pending();
}

SigpipeGuard::~SigpipeGuard() {
    // Only a SIGPIPE that our own write raised is consumed; one that was already
    // pending belongs to someone else and is delivered when the mask is restored.
    if (!was_pending_ && sigpipe_pending()) {
        const sigset_t set = pipe_set();
        const timespec no_wait{};
        while (sigtimedwait(&set, nullptr, &no_wait) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

Status server_error(const redisReply& reply, std::string_view doing) {
    std::string text(reply.str != nullptr ? reply.str : "", reply.str != nullptr ? reply.len : 0);
    text = text.substr(0, text.find('\n')).substr(0, 200);
    const std::string first = text.substr(0, text.find(' '));
    tokend_status code = TOKEND_INTERNAL;
    // Redis is busy, starting, read-only, out of memory or not logged in: it may pass.
    for (const char* transient : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOAUTH",
                                  "WRONGPASS", "OOM", "MISCONF", "NOPERM"}) {
        if (first == transient) code = TOKEND_UNAVAILABLE;
    }
    if (first == "WRONGTYPE") code = TOKEND_CORRUPT;
    return Status::error(code, "redis " + std::string(doing) + ": " + text);
}

Status Connection::open(const Endpoint& endpoint, uint32_t connect_timeout_ms,
                        uint32_t command_timeout_ms, std::unique_ptr<Connection>* out) {
    SigpipeGuard guard;
    const timeval connect_timeout = to_timeval(connect_timeout_ms);
    redisContext* context =
        endpoint.unix_path.empty()
            ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, connect_timeout)
            : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), connect_timeout);
    if (context == nullptr) return Status::error(TOKEND_INTERNAL, "redis: out of memory");
    std::unique_ptr<Connection> connection(new Connection(context, endpoint));
    if (context->err != 0) return connection->io_error("connect to");
    if (redisSetTimeout(context, to_timeval(command_timeout_ms)) != REDIS_OK) {
        return connection->io_error("set the command timeout on");
    }
    if (endpoint.unix_path.empty()) redisEnableKeepAlive(context);

    Reply reply;
    if (!endpoint.password.empty()) {
        std::vector<std::string_view> auth{"AUTH"};
        if (!endpoint.username.empty()) auth.emplace_back(endpoint.username);
        auth.emplace_back(endpoint.password);
        if (Status status = connection->command(auth, &reply); !status.ok()) return status;
        if (reply->type == REDIS_REPLY_ERROR) {
            Status refused = server_error(*reply, "AUTH at " + endpoint.describe());
            refused.code = TOKEND_INVALID;
            return refused;
        }
    }
    if (endpoint.db != 0) {
        const std::string db = std::to_string(endpoint.db);
        if (Status status = connection->command({"SELECT", db}, &reply); !status.ok()) return status;
        if (reply->type == REDIS_REPLY_ERROR) {
            Status refused = server_error(*reply, "SELECT " + db + " at " + endpoint.describe());
            refused.code = TOKEND_INVALID;
            return refused;
        }
    }
    *out = std::move(connection);
    return Status::success();
}

Connection::~Connection() { redisFree(context_); }

Status Connection::io_error(std::string_view doing) const {
    std::string reason = context_->errstr[0] != '\0' ? context_->errstr : "connection lost";
    // A command timeout shows up as EAGAIN from the socket.
    if (context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        reason = "no answer within the timeout";
    }
    return Status::error(TOKEND_UNAVAILABLE,
                         "redis: " + std::string(doing) + " " + endpoint_.describe() + ": " + reason);
}

Status Connection::command(const std::vector<std::string_view>& args, Reply* out) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view arg : args) {
        argv.push_back(arg.data() != nullptr ? arg.data() : "");
        lengths.push_back(arg.size());
    }
    SigpipeGuard guard;
    errno = 0;
    void* raw = redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    out->reset(static_cast<redisReply*>(raw));
    if (raw == nullptr) return io_error("command to");
    return Status::success();
}

bool Connection::peer_closed() const {
    char byte = 0;
    const ssize_t got = recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got == 0) return true;  // orderly close: Redis restarted or dropped us
    if (got < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return true;  // unsolicited data on an idle connection: something is off, reconnect
}

}  // namespace tokend::redis_store
