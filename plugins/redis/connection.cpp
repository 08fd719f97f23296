#include "connection.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include <chrono>

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
    connection->command_timeout_ms_ = command_timeout_ms;
    if (endpoint.tls) {
        if (Status status = connection->handshake(connect_timeout_ms); !status.ok()) return status;
        // The handshake's reads and writes ran within the connect timeout; now the commands'.
        if (redisSetTimeout(context, to_timeval(command_timeout_ms)) != REDIS_OK) {
            return connection->io_error("set the command timeout on");
        }
    }

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

Connection::~Connection() {
    if (ssl_ != nullptr) {
        if (!broken()) {  // say goodbye (close_notify) on a healthy connection
            SigpipeGuard guard;
            SSL_shutdown(ssl_);
        }
        SSL_free(ssl_);
        ERR_clear_error();
    }
    redisFree(context_);
}

Status Connection::handshake(uint32_t connect_timeout_ms) {
    if (redisSetTimeout(context_, to_timeval(connect_timeout_ms)) != REDIS_OK) {
        return io_error("set the connect timeout on");
    }
    ssl_ = endpoint_.tls_client->new_session(context_->fd, endpoint_.host, &client_cert_requested_);
    if (ssl_ == nullptr) return Status::error(TOKEND_INTERNAL, "redis TLS: cannot set up a session");
    SigpipeGuard guard;
    ERR_clear_error();
    errno = 0;
    const int result = SSL_connect(ssl_);
    if (result != 1) {
        fail_tls(result);
        return io_error("TLS handshake with");
    }
    return Status::success();
}

void Connection::fail_tls(int result) {
    tls_failure_ = tls_failure(ssl_, result);
    if (client_cert_requested_) {
        tls_failure_ += " (the server asked for a client certificate and none is configured: "
                        "tls_cert_file, tls_key_file)";
    }
}

bool Connection::tls_write(std::string_view bytes) {
    SigpipeGuard guard;
    ERR_clear_error();
    errno = 0;
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE a write is all or nothing.
    const int written = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (written > 0) return true;
    fail_tls(written);
    return false;
}

Connection::ReadResult Connection::tls_read() {
    char buffer[16 * 1024];
    SigpipeGuard guard;  // reading may answer a key update with a write
    ERR_clear_error();
    errno = 0;
    const int got = SSL_read(ssl_, buffer, sizeof buffer);
    if (got > 0) {
        if (redisReaderFeed(context_->reader, buffer, static_cast<size_t>(got)) != REDIS_OK) {
            tls_failure_ = "out of memory reading a reply";
            return ReadResult::failed;
        }
        return ReadResult::data;
    }
    // No data yet: the socket's receive timeout passed, or only a record that is
    // not data (a session ticket) came. The caller decides whether time is up.
    const int kind = SSL_get_error(ssl_, got);
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return ReadResult::nothing;
    }
    fail_tls(got);
    return ReadResult::failed;
}

Status Connection::io_error(std::string_view doing) const {
    std::string reason = !tls_failure_.empty()           ? tls_failure_
                         : context_->errstr[0] != '\0' ? context_->errstr
                                                       : "connection lost";
    // A command timeout shows up as EAGAIN from the socket.
    if (tls_failure_.empty() && context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
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
    if (ssl_ != nullptr) return tls_command(argv, lengths, out);
    SigpipeGuard guard;
    errno = 0;
    void* raw = redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    out->reset(static_cast<redisReply*>(raw));
    if (raw == nullptr) return io_error("command to");
    return Status::success();
}

Status Connection::tls_command(const std::vector<const char*>& argv, const std::vector<size_t>& lengths,
                               Reply* out) {
    out->reset();
    if (broken()) return io_error("command to");
    char* formatted = nullptr;
    const int length =
        redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), const_cast<const char**>(argv.data()), lengths.data());
    if (length < 0) return Status::error(TOKEND_INTERNAL, "redis: out of memory formatting a command");
    const bool written = tls_write(std::string_view(formatted, static_cast<size_t>(length)));
    redisFreeCommand(formatted);
    if (!written) return io_error("command to");
    // Each read waits at most the command timeout (SO_RCVTIMEO); the deadline
    // bounds the whole answer as redisCommandArgv's does over plain TCP.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(command_timeout_ms_);
    for (;;) {
        if (Status status = next_reply(out); !status.ok() || *out != nullptr) return status;
        switch (tls_read()) {
            case ReadResult::data: break;
            case ReadResult::nothing:
                if (std::chrono::steady_clock::now() >= deadline) {
                    tls_failure_ = "no answer within the timeout";
                    return io_error("command to");
                }
                break;
            case ReadResult::failed: return io_error("command to");
        }
    }
}

Status Connection::send(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (std::string_view arg : args) {
        argv.push_back(arg.data() != nullptr ? arg.data() : "");
        lengths.push_back(arg.size());
    }
    if (ssl_ != nullptr) {
        if (broken()) return io_error("send to");
        char* formatted = nullptr;
        const int length =
            redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
        if (length < 0) return Status::error(TOKEND_INTERNAL, "redis: out of memory formatting a command");
        const bool written = tls_write(std::string_view(formatted, static_cast<size_t>(length)));
        redisFreeCommand(formatted);
        return written ? Status::success() : io_error("send to");
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
        return io_error("send to");
    }
    SigpipeGuard guard;
    errno = 0;
    int done = 0;
    while (!done) {
        if (redisBufferWrite(context_, &done) != REDIS_OK) return io_error("send to");
    }
    return Status::success();
}

Status Connection::read_some() {
    if (ssl_ != nullptr) {
        return tls_read() == ReadResult::failed ? io_error("lost") : Status::success();
    }
    errno = 0;
    if (redisBufferRead(context_) != REDIS_OK) return io_error("lost");
    return Status::success();
}

Status Connection::next_reply(Reply* out) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
        return Status::error(TOKEND_UNAVAILABLE, "redis: protocol error from " + endpoint_.describe() + ": " +
                                                     context_->errstr);
    }
    out->reset(static_cast<redisReply*>(raw));
    return Status::success();
}

bool Connection::pending() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

bool Connection::peer_closed() const {
    char byte = 0;
    const ssize_t got = recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got == 0) return true;  // orderly close: Redis restarted or dropped us
    if (got < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    if (ssl_ == nullptr) return true;  // unsolicited data on an idle connection: something is off, reconnect
    // Over TLS the bytes may be records that carry no data (TLS 1.3 session
    // tickets): let OpenSSL look without waiting.
    const int flags = fcntl(context_->fd, F_GETFL);
    if (flags < 0 || fcntl(context_->fd, F_SETFL, flags | O_NONBLOCK) < 0) return true;
    ERR_clear_error();
    const int peeked = SSL_peek(ssl_, &byte, 1);
    const int kind = SSL_get_error(ssl_, peeked);
    fcntl(context_->fd, F_SETFL, flags);
    ERR_clear_error();
    return peeked > 0 || kind != SSL_ERROR_WANT_READ;
}

}  // namespace tokend::redis_store
