// One hiredis connection (blocking, with connect and command timeouts) and the
// guard that keeps SIGPIPE from killing the process while hiredis writes. Over
// TLS hiredis still connects the socket, formats commands and parses replies;
// OpenSSL carries the bytes (tls.h).
#pragma once

#include "options.h"
#include "status.h"

#include <hiredis/hiredis.h>

#include <csignal>
#include <memory>
#include <string_view>
#include <vector>

namespace tokend::redis_store {

struct ReplyDeleter {
    void operator()(redisReply* reply) const {
        if (reply != nullptr) freeReplyObject(reply);
    }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis 0.14 writes with write(2), which raises SIGPIPE when Redis has gone
// away. The host may not ignore SIGPIPE, and a plugin must not change the
// process's signal dispositions, so each call blocks SIGPIPE in the calling
// thread and discards one that its own write raised before unblocking.
class SigpipeGuard {
public:
    SigpipeGuard();
    ~SigpipeGuard();
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t previous_mask_;
    bool was_pending_ = false;
};

class Connection {
public:
    // Connects within connect_timeout_ms (and, for TLS, shakes hands and checks
    // the certificate, each read and write within it), sets the command timeout,
    // AUTHs and SELECTs. UNAVAILABLE when Redis cannot be reached or its
    // certificate does not pass (the message says why), INVALID when it refuses
    // the credentials or the database.
    static Status open(const Endpoint& endpoint, uint32_t connect_timeout_ms,
                       uint32_t command_timeout_ms, std::unique_ptr<Connection>* out);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends one command and waits for its reply (at most the command timeout).
    // An I/O failure or timeout is UNAVAILABLE and breaks the connection; an
    // error reply from Redis comes back as a reply of type REDIS_REPLY_ERROR.
    Status command(const std::vector<std::string_view>& args, Reply* out);

    // For the subscriber, which reads without waiting for each answer:
    // send() writes one command out (within the command timeout); read_some()
    // reads what is there into the reader (call it when the socket is readable
    // or pending() is true); next_reply() takes one parsed reply, if any.
    Status send(const std::vector<std::string_view>& args);
    Status read_some();
    Status next_reply(Reply* out);
    // Bytes already decrypted and waiting inside OpenSSL: poll() would not see them.
    bool pending() const;
    int fd() const { return context_->fd; }

    // True once an I/O error happened: the connection must be thrown away.
    bool broken() const { return context_->err != 0 || !tls_failure_.empty(); }
    // True if Redis closed its end while the connection sat idle (a restart).
    bool peer_closed() const;

    const Endpoint& endpoint() const { return endpoint_; }

    // Which master this connection reached (MasterTracker's generation; 0 without Sentinel).
    uint64_t generation = 0;

private:
    Connection(redisContext* context, const Endpoint& endpoint)
        : context_(context), endpoint_(endpoint) {}
    Status io_error(std::string_view doing) const;
    Status handshake(uint32_t connect_timeout_ms);
    Status tls_command(const std::vector<const char*>& argv, const std::vector<size_t>& lengths, Reply* out);
    // The TLS transport: the whole of `bytes` out, or some bytes in.
    bool tls_write(std::string_view bytes);
    enum class ReadResult { data, nothing, failed };
    ReadResult tls_read();
    void fail_tls(int result);

    redisContext* context_;
    SSL* ssl_ = nullptr;        // set over TLS: context_'s socket then carries TLS records
    std::string tls_failure_;  // why the TLS transport broke; "" while it works
    uint32_t command_timeout_ms_ = 0;
    bool client_cert_requested_ = false;  // set by OpenSSL during the handshake (TlsClient)
    Endpoint endpoint_;
};

// Maps an error reply from Redis to a status; `doing` says what was asked.
Status server_error(const redisReply& reply, std::string_view doing);

}  // namespace tokend::redis_store
