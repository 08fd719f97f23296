#include "io/http_server.h"

#include "io/http_connection.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace tokend {
namespace {

constexpr int kListenBacklog = 511;
constexpr size_t kReadBufferBytes = 64 * 1024;

std::string address_text(const std::string& host, int port) {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

int bound_port(const uv_tcp_t* tcp) {
    sockaddr_storage addr{};
    int length = sizeof addr;
    if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return -1;
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    return -1;
}

}  // namespace

// Owns every handle of the server. Lives on after the HttpServer that created
// it was destroyed, until the last of its handles' close callbacks has run.
class HttpServer::Impl final : public HttpConnectionOwner {
public:
    Impl(uv_loop_t* loop, HttpLimits limits, HttpHandler handler)
        : loop_(loop), limits_(limits), handler_(std::move(handler)) {}

    int listen(const std::string& host, int port);
    int adopt(int fd);
    void close(std::chrono::milliseconds grace, std::function<void()> done);
    void detach();  // the HttpServer is gone
    size_t connections() const { return connections_.size(); }

    // HttpConnectionOwner
    const HttpLimits& limits() const override { return limits_; }
    bool stopping() const override { return closing_; }
    void handle(HttpRequest&& request, HttpResponder responder) override {
        handler_(std::move(request), std::move(responder));
    }
    std::string_view date() override;
    uv_buf_t read_buffer() override {
        return uv_buf_init(read_buffer_.data(), static_cast<unsigned>(read_buffer_.size()));
    }
    void connection_closed(HttpConnection* connection) override;

private:
    struct Listener {
        uv_tcp_t tcp{};
        Impl* server = nullptr;
    };
    struct Refused {
        uv_tcp_t tcp{};
        Impl* server = nullptr;
    };

    Listener& new_listener(const std::string& what);
    void close_listener(Listener& listener);
    static void on_connection(uv_stream_t* stream, int status);
    void accept_from(uv_stream_t* listener);
    void refuse(uv_stream_t* listener);
    static void on_deadline(uv_timer_t* timer);
    void abort_connections();
    void maybe_finish();

    uv_loop_t* loop_;
    HttpLimits limits_;
    HttpHandler handler_;
    std::vector<std::unique_ptr<Listener>> listeners_;  // open or closing
    std::unordered_map<HttpConnection*, std::shared_ptr<HttpConnection>> connections_;
    size_t refused_open_ = 0;
    uint64_t last_refusal_log_ms_ = 0;
    size_t refusals_unlogged_ = 0;

    bool closing_ = false;
    bool done_called_ = false;
    bool owner_gone_ = false;
    bool in_done_ = false;
    std::function<void()> on_closed_;
    uv_timer_t deadline_{};
    bool deadline_open_ = false;
    bool deadline_closing_ = false;

    std::time_t date_second_ = -1;
    std::string date_text_;
    std::array<char, kReadBufferBytes> read_buffer_{};
};

// ---- listening -------------------------------------------------------------

HttpServer::Impl::Listener& HttpServer::Impl::new_listener(const std::string& what) {
    if (closing_) throw std::runtime_error("cannot listen on " + what + ": the server is closing");
    auto listener = std::make_unique<Listener>();
    if (int rc = uv_tcp_init(loop_, &listener->tcp); rc != 0) {
        throw std::runtime_error("cannot listen on " + what + ": " + uv_strerror(rc));
    }
    listener->server = this;
    listener->tcp.data = listener.get();
    listeners_.push_back(std::move(listener));
    return *listeners_.back();
}

void HttpServer::Impl::close_listener(Listener& listener) {
    auto* handle = reinterpret_cast<uv_handle_t*>(&listener.tcp);
    if (uv_is_closing(handle)) return;
    uv_close(handle, [](uv_handle_t* closed) {
        auto* gone = static_cast<Listener*>(closed->data);
        Impl* self = gone->server;
        std::erase_if(self->listeners_, [gone](const auto& l) { return l.get() == gone; });
        self->maybe_finish();
    });
}

int HttpServer::Impl::listen(const std::string& host, int port) {
    const std::string what = address_text(host, port);
    if (port < 0 || port > 65535) throw std::runtime_error("cannot listen on " + what + ": invalid port");
    sockaddr_storage addr{};
    const bool ipv6 = host.find(':') != std::string::npos;
    int rc = ipv6 ? uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
                  : uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
    if (rc != 0) throw std::runtime_error("cannot listen on " + what + ": not an IP address");

    Listener& listener = new_listener(what);
    rc = uv_tcp_bind(&listener.tcp, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener.tcp), kListenBacklog, on_connection);
    if (rc != 0) {
        close_listener(listener);
        throw std::runtime_error("cannot listen on " + what + ": " + uv_strerror(rc));
    }
    const int bound = bound_port(&listener.tcp);
    spdlog::debug("http: listening on {}", address_text(host, bound));  // the caller says what it serves
    return bound;
}

int HttpServer::Impl::adopt(int fd) {
    const std::string what = "inherited socket " + std::to_string(fd);
    Listener* listener = nullptr;
    try {
        listener = &new_listener(what);
    } catch (...) {
        ::close(fd);
        throw;
    }
    int rc = uv_tcp_open(&listener->tcp, fd);
    if (rc != 0) {
        ::close(fd);  // the handle did not take it
    } else {
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), kListenBacklog, on_connection);
    }
    const int bound = rc == 0 ? bound_port(&listener->tcp) : -1;
    if (rc == 0 && bound < 0) rc = UV_ENOTSOCK;
    if (rc != 0) {
        close_listener(*listener);
        throw std::runtime_error("cannot listen on " + what + ": " + uv_strerror(rc));
    }
    spdlog::debug("http: listening on {} (port {})", what, bound);  // the caller says what it serves
    return bound;
}

// ---- accepting -------------------------------------------------------------

void HttpServer::Impl::on_connection(uv_stream_t* stream, int status) {
    auto* self = static_cast<Listener*>(stream->data)->server;
    if (status < 0) {
        spdlog::warn("http: accepting a connection failed: {}", uv_strerror(status));
        return;
    }
    try {
        if (self->connections_.size() >= self->limits_.max_connections) {
            self->refuse(stream);
        } else {
            self->accept_from(stream);
        }
    } catch (const std::exception& e) {
        spdlog::error("http: accepting a connection failed: {}", e.what());
    }
}

void HttpServer::Impl::accept_from(uv_stream_t* listener) {
    auto connection = std::make_shared<HttpConnection>(*this);
    if (int rc = connection->init(loop_); rc != 0) {
        // Cannot happen on Unix (neither init allocates anything); nothing to accept into.
        spdlog::error("http: cannot set up a connection: {}", uv_strerror(rc));
        return;
    }
    HttpConnection* key = connection.get();
    connections_.emplace(key, std::move(connection));
    if (int rc = uv_accept(listener, key->stream()); rc != 0) {
        spdlog::warn("http: accepting a connection failed: {}", uv_strerror(rc));
        key->close_now();
        return;
    }
    key->start();
}

void HttpServer::Impl::refuse(uv_stream_t* listener) {
    auto* refused = new Refused;
    refused->server = this;
    refused->tcp.data = refused;
    if (uv_tcp_init(loop_, &refused->tcp) != 0) {
        delete refused;
        return;
    }
    ++refused_open_;
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&refused->tcp)) == 0) {
        // Best effort and never blocking: the socket buffer of a new connection
        // takes these few bytes; if not, the client just sees the close.
        const ResponseFraming framing{false, false, false, date()};
        std::string answer = serialize_response(http_error_response(503), framing).value();
        uv_buf_t buf = uv_buf_init(answer.data(), static_cast<unsigned>(answer.size()));
        uv_try_write(reinterpret_cast<uv_stream_t*>(&refused->tcp), &buf, 1);
    }
    // One warning a minute at most: a flood must not flood the log as well.
    ++refusals_unlogged_;
    const uint64_t now = uv_now(loop_);
    if (last_refusal_log_ms_ == 0 || now - last_refusal_log_ms_ >= 60000) {
        spdlog::warn("http: {} connection(s) refused: already {} open (limit max_connections)", refusals_unlogged_,
                     connections_.size());
        refusals_unlogged_ = 0;
        last_refusal_log_ms_ = now == 0 ? 1 : now;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&refused->tcp), [](uv_handle_t* handle) {
        auto* gone = static_cast<Refused*>(handle->data);
        Impl* self = gone->server;
        delete gone;
        --self->refused_open_;
        self->maybe_finish();
    });
}

void HttpServer::Impl::connection_closed(HttpConnection* connection) {
    auto found = connections_.find(connection);
    if (found == connections_.end()) return;
    auto keep = std::move(found->second);  // freed on return, after maybe_finish is done with us
    connections_.erase(found);
    maybe_finish();
}

// ---- helpers ---------------------------------------------------------------

std::string_view HttpServer::Impl::date() {
    // The edge reads the clock; the formatting (http_date) is pure.
    const std::time_t now = std::time(nullptr);
    if (now != date_second_) {
        date_second_ = now;
        date_text_ = http_date(now);
    }
    return date_text_;
}

// ---- closing ---------------------------------------------------------------

void HttpServer::Impl::close(std::chrono::milliseconds grace, std::function<void()> done) {
    if (closing_) return;
    closing_ = true;
    on_closed_ = std::move(done);
    for (auto& listener : listeners_) close_listener(*listener);

    if (uv_timer_init(loop_, &deadline_) == 0) {
        deadline_.data = this;
        deadline_open_ = true;
        uv_timer_start(&deadline_, on_deadline, static_cast<uint64_t>(std::max<int64_t>(0, grace.count())), 0);
    }
    if (!connections_.empty()) {
        spdlog::info("http: closing; {} connection(s) get {} ms to finish", connections_.size(), grace.count());
    }
    std::vector<std::shared_ptr<HttpConnection>> open;
    for (auto& [key, connection] : connections_) open.push_back(connection);
    for (auto& connection : open) connection->stop_gracefully();
    if (!deadline_open_) abort_connections();  // no timer, no grace
    maybe_finish();
}

void HttpServer::Impl::on_deadline(uv_timer_t* timer) {
    auto* self = static_cast<Impl*>(timer->data);
    if (!self->connections_.empty()) {
        spdlog::warn("http: {} connection(s) still busy after the grace period; closing them",
                     self->connections_.size());
    }
    self->abort_connections();
}

void HttpServer::Impl::abort_connections() {
    std::vector<std::shared_ptr<HttpConnection>> open;
    for (auto& [key, connection] : connections_) open.push_back(connection);
    for (auto& connection : open) connection->close_now();
}

void HttpServer::Impl::detach() {
    owner_gone_ = true;
    on_closed_ = nullptr;  // whoever passed it may be gone with the server
    if (!closing_) {
        closing_ = true;
        done_called_ = true;
        for (auto& listener : listeners_) close_listener(*listener);
    }
    abort_connections();
    maybe_finish();
}

void HttpServer::Impl::maybe_finish() {
    if (!listeners_.empty() || !connections_.empty() || refused_open_ != 0) return;
    if (deadline_open_) {
        if (!deadline_closing_) {
            deadline_closing_ = true;
            uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), [](uv_handle_t* handle) {
                auto* self = static_cast<Impl*>(handle->data);
                self->deadline_open_ = false;
                self->maybe_finish();
            });
        }
        return;
    }
    if (closing_ && !done_called_) {
        done_called_ = true;
        if (auto done = std::move(on_closed_)) {
            in_done_ = true;  // done may destroy the HttpServer: defer our own deletion
            done();
            in_done_ = false;
        }
    }
    if (owner_gone_ && !in_done_) delete this;
}

// ---- HttpServer ------------------------------------------------------------

HttpServer::HttpServer(uv_loop_t* loop, HttpLimits limits, HttpHandler handler)
    : impl_(new Impl(loop, limits, std::move(handler))) {}

HttpServer::~HttpServer() { impl_->detach(); }

int HttpServer::listen(const std::string& host, int port) { return impl_->listen(host, port); }

int HttpServer::adopt(int fd) { return impl_->adopt(fd); }

void HttpServer::close(std::chrono::milliseconds grace, std::function<void()> done) {
    impl_->close(grace, std::move(done));
}

size_t HttpServer::connections() const { return impl_->connections(); }

}  // namespace tokend
