// The control socket: a Unix stream socket speaking the NDJSON protocol of
// core/control_protocol.h. It owns connections, framing, ordering and limits;
// what a request means is the handler's business. Loop thread only.
#pragma once

#include "core/control_protocol.h"

#include <uv.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tokend {

// Who connected, read once at accept: SO_PEERCRED's pid, uid and primary gid,
// and SO_PEERGROUPS' supplementary groups (Linux >= 4.13): the groups the
// connecting process held when it connected, as the kernel's check of the
// socket file's mode saw them.
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

struct ControlLimits {
    size_t max_line_bytes = kDefaultMaxLineBytes;
    size_t max_connections = 1024;
    std::chrono::milliseconds idle_timeout{300000};  // 0: none; watchers are never idle
    size_t max_pending_requests = 256;               // per connection; reading pauses beyond it
    size_t max_write_queue_bytes = 4 * 1024 * 1024;  // a client that does not read is cut off beyond it
};

class ControlServer {
public:
    // One client connection, as handlers see it. Handlers may keep it (watch)
    // after the request; once the client is gone, closed() is true and push()
    // does nothing.
    class Session {
    public:
        virtual ~Session() = default;
        virtual const PeerCredentials& peer() const = 0;
        virtual uint64_t id() const = 0;
        virtual bool closed() const = 0;
        // Sends a line outside request order (events of a watch). Call only after
        // the watch request was answered.
        virtual void push(std::string line) = 0;
        // Marks the session as a watcher: no idle timeout any more.
        virtual void set_watching() = 0;
        // Runs once when the connection closes (for unsubscribing watchers).
        virtual void on_close(std::function<void()> callback) = 0;
    };

    class Connection;

    // Answers one request: respond(line) must be called exactly once, now or
    // later, with a complete response line (encode_ok / encode_error).
    // Responses are written in request order whatever order they complete in.
    // A copy keeps the connection by a weak reference (nothing is written once
    // the client is gone) and takes one answer; a second is ignored.
    class Responder {
    public:
        void operator()(std::string line) const;
        // The same for a line the caller keeps (a buffer it reuses): copied
        // only if it cannot be written or batched at once.
        void operator()(std::string_view line) const;

    private:
        friend class Connection;
        Responder(std::weak_ptr<Connection> connection, uint64_t seq) : connection_(std::move(connection)), seq_(seq) {}

        std::weak_ptr<Connection> connection_;
        uint64_t seq_;
        mutable bool answered_ = false;
    };

    using RequestHandler =
        std::function<void(const std::shared_ptr<Session>& session, ControlRequest&& request, Responder respond)>;

    ControlServer(uv_loop_t* loop, ControlLimits limits, RequestHandler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds the socket at path with `mode` (e.g. 0660) and, if group >= 0, that
    // group. A stale socket file (nobody listening) is replaced; a live one is not
    // stolen. Throws std::runtime_error with an operator-facing message.
    void listen(const std::string& path, unsigned mode, long group);
    // Serves an already listening socket (systemd socket activation).
    void adopt(int fd);

    // Stops accepting, closes every connection, unlinks the socket file it
    // created, then calls done on the loop thread.
    void close(std::function<void()> done);

    size_t connections() const { return connections_.size(); }
    const std::string& path() const { return path_; }

private:
    friend class Connection;

    static void on_connection(uv_stream_t* server, int status);
    void accept_one();
    void forget(Connection* connection);
    void maybe_closed();

    uv_loop_t* loop_;
    ControlLimits limits_;
    RequestHandler handler_;
    uv_pipe_t listener_{};
    bool listening_ = false;
    bool closing_ = false;
    bool owns_path_ = false;
    std::string path_;
    uint64_t next_id_ = 1;
    std::map<Connection*, std::shared_ptr<Connection>> connections_;
    std::function<void()> on_closed_;
    bool listener_closed_ = true;
};

}  // namespace tokend
