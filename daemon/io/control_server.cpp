#include "io/control_server.h"

#include "io/loop_timers.h"

#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tokend {
namespace {

// Whether something accepts connections at path (a live tokend).
bool socket_is_live(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return live;
}

// The supplementary groups of the process at the other end of `fd`, as it
// held them when it connected (SO_PEERGROUPS); false if they cannot be read.
// The kernel says how many there are with ERANGE when the buffer is short.
bool read_peer_groups(int fd, std::vector<gid_t>* groups) {
    std::vector<gid_t> buffer(16);
    for (int round = 0; round < 4; ++round) {
        socklen_t length = static_cast<socklen_t>(buffer.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buffer.data(), &length) == 0) {
            buffer.resize(length / sizeof(gid_t));
            *groups = std::move(buffer);
            return true;
        }
        if (errno != ERANGE) return false;
        buffer.resize(length / sizeof(gid_t) + 1);  // the size the kernel asked for (the groups may change meanwhile)
    }
    return false;
}

// Answers collected within one read are written together up to this size.
constexpr size_t kMaxBatchBytes = 64 * 1024;
// The batch buffer a connection keeps between reads (a larger one, after an
// export page, is given back): most answers are a few hundred bytes.
constexpr size_t kKeptBatchCapacity = 4 * 1024;

// One write in flight: owns its bytes until libuv is done with them.
struct WriteRequest {
    uv_write_t request{};
    std::string bytes;
};

}  // namespace

class ControlServer::Connection final : public ControlServer::Session,
                                        public std::enable_shared_from_this<Connection> {
public:
    Connection(ControlServer* server, uint64_t id) : server_(server), id_(id), splitter_(server->limits_.max_line_bytes) {}

    const PeerCredentials& peer() const override { return peer_; }
    uint64_t id() const override { return id_; }
    bool closed() const override { return closing_; }
    void set_watching() override {
        watching_ = true;
        loop_timer_stop(&idle_);
    }
    void on_close(std::function<void()> callback) override {
        if (closing_) {
            callback();
        } else {
            close_callbacks_.push_back(std::move(callback));
        }
    }
    void push(std::string line) override {
        if (!closing_) write(line, &line);
    }

    // Accepts the pending connection on the listener; false if it failed.
    bool start(uv_stream_t* listener) {
        uv_pipe_init(server_->loop_, &pipe_, 0);
        pipe_.data = this;
        uv_timer_init(server_->loop_, &idle_);
        idle_.data = this;
        handles_open_ = 2;
        if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&pipe_)) != 0) {
            close("accept failed");
            return false;
        }
        uv_os_fd_t fd;
        ucred credentials{};
        socklen_t length = sizeof credentials;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(&pipe_), &fd) != 0 ||
            ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
            close("cannot read peer credentials");
            return false;
        }
        fd_ = fd;
        peer_ = PeerCredentials{credentials.pid, credentials.uid, credentials.gid, {}};
        if (!read_peer_groups(fd, &peer_.groups)) {
            close("cannot read the peer's groups (SO_PEERGROUPS needs Linux 4.13)");
            return false;
        }
        last_read_ = uv_now(server_->loop_);
        resume_reading();
        arm_idle(server_->limits_.idle_timeout);
        return true;
    }

    void close(const char* why) {
        if (closing_) return;
        closing_ = true;
        if (why != nullptr) spdlog::debug("control: connection {} (uid {}) closed: {}", id_, peer_.uid, why);
        fd_ = -1;
        auto callbacks = std::move(close_callbacks_);
        for (auto& callback : callbacks) callback();
        keep_alive_ = shared_from_this();  // until both handles have closed
        auto on_handle_closed = [](uv_handle_t* handle) {
            auto* self = static_cast<Connection*>(handle->data);
            if (--self->handles_open_ == 0) {
                auto keep = std::move(self->keep_alive_);
                self->server_->forget(self);
            }
        };
        uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), on_handle_closed);
        loop_timer_stop(&idle_);
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_handle_closed);
    }

private:
    void resume_reading() {
        if (reading_ || closing_) return;
        reading_ = true;
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(&pipe_),
            [](uv_handle_t*, size_t, uv_buf_t* buf) {
                static thread_local char buffer[64 * 1024];
                *buf = uv_buf_init(buffer, sizeof buffer);
            },
            [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
                static_cast<Connection*>(stream->data)->on_read(nread, buf);
            });
    }

    void pause_reading() {
        if (!reading_) return;
        reading_ = false;
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
    }

    // The idle timer is not re-armed per read (a timer-heap update per
    // request): when it fires, it looks at the time of the last read and waits
    // out the rest of the timeout if there was one since.
    void arm_idle(std::chrono::milliseconds after) {
        const auto timeout = server_->limits_.idle_timeout;
        if (closing_ || watching_ || timeout.count() <= 0) return;
        loop_timer_start(
            &idle_,
            [](uv_timer_t* timer) {
                auto* self = static_cast<Connection*>(timer->data);
                const auto timeout = self->server_->limits_.idle_timeout;
                const auto quiet = std::chrono::milliseconds(uv_now(self->server_->loop_) - self->last_read_);
                // Busy (answers being computed or still being written) is not idle.
                if (self->in_flight() > 0 || self->pipe_.write_queue_size > 0) {
                    self->arm_idle(timeout);
                } else if (quiet < timeout) {
                    self->arm_idle(timeout - quiet);
                } else {
                    self->close("idle timeout");
                }
            },
            static_cast<uint64_t>(after.count()), 0);
    }

    size_t in_flight() const { return static_cast<size_t>(next_seq_ - next_to_write_); }

    void on_read(ssize_t nread, const uv_buf_t* buf) {
        if (nread < 0) {
            close(nread == UV_EOF ? "client closed" : uv_strerror(static_cast<int>(nread)));
            return;
        }
        if (nread == 0) return;
        last_read_ = uv_now(server_->loop_);
        lines_.clear();
        splitter_.feed_views(std::string_view(buf->base, static_cast<size_t>(nread)), &lines_);
        // Answers ready within this read go out in one write.
        batching_ = true;
        for (const auto& line : lines_) {
            if (closing_) break;
            if (line.too_long) {
                answer_now(encode_error(nullptr, ErrorCode::bad_request,
                                        "request line longer than " + std::to_string(server_->limits_.max_line_bytes) +
                                            " bytes"));
                continue;
            }
            if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
            dispatch(line.text);
        }
        batching_ = false;
        flush();
        if (!closing_ && in_flight() >= server_->limits_.max_pending_requests) pause_reading();
    }

    void answer_now(std::string line) {
        const uint64_t seq = next_seq_++;
        complete(seq, line, &line);
    }

    void dispatch(std::string_view text) {
        ProtocolError error;
        if (!parse_request_into(text, &request_, &error)) {
            answer_now(encode_error(error.id, error.code, error.message));
            return;
        }
        const uint64_t seq = next_seq_++;
        std::shared_ptr<Connection> self = shared_from_this();
        server_->handler_(self, std::move(request_), Responder(self, seq));
        request_.clear();  // keeps neither a large request's JSON nor views into the shared read buffer
    }

public:
    // Holds a response until every earlier one is written: pipelined requests may
    // finish out of order (a store read after a memory read). `owned`, when
    // given, holds the line's bytes and may be moved from; otherwise the line is
    // copied only if it cannot be written or batched now.
    void complete(uint64_t seq, std::string_view line, std::string* owned) {
        // A second answer to one request (two copies of its Responder) is dropped:
        // written or held already, it would stall the order.
        if (closing_ || seq < next_to_write_ || ready_.count(seq) > 0) return;
        if (seq == next_to_write_) {  // the usual case: nothing to hold back
            write(line, owned);
            ++next_to_write_;
        } else {
            ready_[seq] = owned != nullptr ? std::move(*owned) : std::string(line);
        }
        while (!ready_.empty() && ready_.begin()->first == next_to_write_) {
            std::string held = std::move(ready_.begin()->second);
            ready_.erase(ready_.begin());
            write(held, &held);
            ++next_to_write_;
        }
        if (!closing_ && in_flight() < server_->limits_.max_pending_requests / 2 + 1) resume_reading();
    }

private:
    void write(std::string_view line, std::string* owned) {
        if (batching_ && !closing_) {
            if (batch_.size() + line.size() > kMaxBatchBytes) flush();
            if (line.size() <= kMaxBatchBytes) {
                batch_.append(line);
                return;
            }
        }
        send(line, owned);
    }

    void flush() {
        if (!batch_.empty() && !closing_) send(batch_, nullptr);
        batch_.clear();  // its capacity is kept for the next read's answers, up to a point
        if (batch_.capacity() > kKeptBatchCapacity) std::string().swap(batch_);
    }

    void send(std::string_view line, std::string* owned) {
        // uv_close has closed the descriptor already, and its number may be
        // another connection's by now: nothing is written once closing.
        if (closing_) return;
        if (pipe_.write_queue_size + line.size() > server_->limits_.max_write_queue_bytes) {
            spdlog::warn("control: disconnecting client uid {} pid {}: it does not read its responses", peer_.uid,
                         peer_.pid);
            close(nullptr);
            return;
        }
        // Most answers fit the socket buffer: write them now, without a request
        // object or a copy, so libuv has no completion to run and no poll to re-arm.
        // send() on the stream's descriptor, as uv_try_write would write() it
        // (nothing of libuv's to update while its queue is empty): a socket's
        // own call skips the file layer's checks, a measurable share of a get_token.
        size_t written = 0;
        if (pipe_.write_queue_size == 0) {
            const ssize_t wrote = ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (wrote == static_cast<ssize_t>(line.size())) return;
            if (wrote < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                close("write failed");
                return;
            }
            if (wrote > 0) written = static_cast<size_t>(wrote);
        }
        auto* request = new WriteRequest;
        if (owned != nullptr && owned->data() == line.data() && owned->size() == line.size()) {
            request->bytes = std::move(*owned);
            request->bytes.erase(0, written);
        } else {
            request->bytes.assign(line.substr(written));
        }
        uv_buf_t buf = uv_buf_init(request->bytes.data(), static_cast<unsigned>(request->bytes.size()));
        const int rc = uv_write(&request->request, reinterpret_cast<uv_stream_t*>(&pipe_), &buf, 1,
                                [](uv_write_t* req, int status) {
                                    auto* owned = reinterpret_cast<WriteRequest*>(req);
                                    auto* self = static_cast<Connection*>(req->handle->data);
                                    delete owned;
                                    if (status < 0 && status != UV_ECANCELED) self->close("write failed");
                                });
        if (rc != 0) {
            delete request;
            close("write failed");
        }
    }

    ControlServer* server_;
    uint64_t id_;
    PeerCredentials peer_;
    uv_pipe_t pipe_{};
    int fd_ = -1;  // pipe_'s descriptor, for writes that need nothing of libuv's
    uv_timer_t idle_{};
    int handles_open_ = 0;
    bool reading_ = false;
    bool closing_ = false;
    bool watching_ = false;
    LineSplitter splitter_;
    std::vector<LineSplitter::LineView> lines_;
    ControlRequest request_;  // each line's, parsed in place (the handler may move from it), cleared after
    uint64_t last_read_ = 0;  // loop time (ms) of the last read, for the idle timeout
    bool batching_ = false;   // answers are collected in batch_ (inside on_read)
    std::string batch_;
    uint64_t next_seq_ = 0;
    uint64_t next_to_write_ = 0;
    std::map<uint64_t, std::string> ready_;
    std::vector<std::function<void()>> close_callbacks_;
    std::shared_ptr<Connection> keep_alive_;
};

void ControlServer::Responder::operator()(std::string line) const {
    if (answered_) return;
    answered_ = true;
    if (auto connection = connection_.lock()) connection->complete(seq_, line, &line);
}

void ControlServer::Responder::operator()(std::string_view line) const {
    if (answered_) return;
    answered_ = true;
    if (auto connection = connection_.lock()) connection->complete(seq_, line, nullptr);
}

ControlServer::ControlServer(uv_loop_t* loop, ControlLimits limits, RequestHandler handler)
    : loop_(loop), limits_(limits), handler_(std::move(handler)) {}

ControlServer::~ControlServer() = default;

void ControlServer::listen(const std::string& path, unsigned mode, long group) {
    sockaddr_un probe{};
    if (path.empty() || path.size() >= sizeof probe.sun_path) {
        throw std::runtime_error("control socket path '" + path + "' is empty or longer than " +
                                 std::to_string(sizeof probe.sun_path - 1) + " bytes");
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0) {
        if (!S_ISSOCK(info.st_mode)) {
            throw std::runtime_error("control socket path " + path + " exists and is not a socket; not touching it");
        }
        if (socket_is_live(path)) {
            throw std::runtime_error("control socket " + path + " is in use by a running process (another tokend?)");
        }
        spdlog::info("control: removing stale socket {} left by a previous run", path);
        ::unlink(path.c_str());
    }
    uv_pipe_init(loop_, &listener_, 0);
    listener_.data = this;
    listener_closed_ = false;
    // Bind under a umask that leaves no more than `mode`, so the socket is never
    // reachable by others between bind and chmod.
    const mode_t previous = ::umask(static_cast<mode_t>(~mode & 0777));
    int rc = uv_pipe_bind(&listener_, path.c_str());
    ::umask(previous);
    if (rc == 0 && ::chmod(path.c_str(), mode) != 0) rc = -errno;
    if (rc == 0 && group >= 0 && ::chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(group)) != 0) {
        rc = -errno;
    }
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), SOMAXCONN, on_connection);
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* handle) {
            static_cast<ControlServer*>(handle->data)->listener_closed_ = true;
        });
        ::unlink(path.c_str());
        throw std::runtime_error("cannot listen on control socket " + path + ": " + uv_strerror(rc));
    }
    path_ = path;
    owns_path_ = true;
    listening_ = true;
}

void ControlServer::adopt(int fd) {
    uv_pipe_init(loop_, &listener_, 0);
    listener_.data = this;
    listener_closed_ = false;
    int rc = uv_pipe_open(&listener_, fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), SOMAXCONN, on_connection);
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* handle) {
            static_cast<ControlServer*>(handle->data)->listener_closed_ = true;
        });
        throw std::runtime_error(std::string("cannot serve the activated control socket: ") + uv_strerror(rc));
    }
    listening_ = true;
}

void ControlServer::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<ControlServer*>(server->data);
    if (status < 0) {
        spdlog::warn("control: accept failed: {}", uv_strerror(status));
        return;
    }
    self->accept_one();
}

void ControlServer::accept_one() {
    auto connection = std::make_shared<Connection>(this, next_id_++);
    connections_[connection.get()] = connection;
    if (!connection->start(reinterpret_cast<uv_stream_t*>(&listener_))) return;
    if (connections_.size() > limits_.max_connections || closing_) {
        spdlog::warn("control: refusing a connection from uid {}: {} connections is the limit",
                     connection->peer().uid, limits_.max_connections);
        connection->close(nullptr);
    }
}

void ControlServer::forget(Connection* connection) {
    connections_.erase(connection);
    maybe_closed();
}

void ControlServer::close(std::function<void()> done) {
    if (closing_) return;
    closing_ = true;
    on_closed_ = std::move(done);
    if (listening_) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* handle) {
            auto* self = static_cast<ControlServer*>(handle->data);
            self->listener_closed_ = true;
            self->maybe_closed();
        });
        if (owns_path_) ::unlink(path_.c_str());
    }
    std::vector<std::shared_ptr<Connection>> open;
    for (auto& [raw, connection] : connections_) open.push_back(connection);
    for (auto& connection : open) connection->close("server shutting down");
    maybe_closed();
}

void ControlServer::maybe_closed() {
    if (!closing_ || !listener_closed_ || !connections_.empty() || !on_closed_) return;
    auto done = std::move(on_closed_);
    on_closed_ = nullptr;
    done();
}

}  // namespace tokend
