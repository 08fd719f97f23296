#include "io/http_connection.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace tokend {
namespace {

// Bytes a lingering connection may still send us before we stop being polite.
constexpr size_t kMaxDiscardBytes = 1 << 20;

std::string peer_name(const uv_tcp_t* tcp) {
    sockaddr_storage addr{};
    int length = sizeof addr;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return {};
    char host[64] = {};
    if (addr.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
        uv_ip6_name(in6, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(in4, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in4->sin_port));
}

size_t write_queue_size(const uv_tcp_t* tcp) {
    return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(tcp));
}

// Ties a responder to one request of one connection. The last copy of a
// responder that was never called answers 500, so the connection cannot hang.
struct ResponderState {
    std::weak_ptr<HttpConnection> connection;
    uint64_t sequence;
    bool answered = false;

    ResponderState(std::weak_ptr<HttpConnection> c, uint64_t s) : connection(std::move(c)), sequence(s) {}
    ResponderState(const ResponderState&) = delete;
    ResponderState& operator=(const ResponderState&) = delete;
    ~ResponderState() {
        if (answered) return;
        try {
            if (auto alive = connection.lock()) alive->respond(sequence, http_error_response(500), true);
        } catch (...) {  // a destructor must not throw; the connection closes on its own timers
        }
    }
};

}  // namespace

struct HttpConnection::PendingWrite {
    uv_write_t req{};
    std::string bytes;
    HttpConnection* connection = nullptr;
};

HttpConnection::HttpConnection(HttpConnectionOwner& owner)
    : owner_(owner), limits_(owner.limits()), parser_(owner.limits()) {}

int HttpConnection::init(uv_loop_t* loop) {
    if (int rc = uv_tcp_init(loop, &tcp_); rc != 0) return rc;
    if (int rc = uv_timer_init(loop, &timer_); rc != 0) {
        // The TCP handle exists and must be closed before we go: owner waits for it.
        open_handles_ = 1;
        tcp_.data = this;
        closing_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
        return rc;
    }
    tcp_.data = this;
    timer_.data = this;
    open_handles_ = 2;
    return 0;
}

void HttpConnection::start() {
    peer_ = peer_name(&tcp_);
    uv_tcp_nodelay(&tcp_, 1);  // answers go out in one write; do not wait for more
    update_reading();
    update_timer();
}

// ---- reading -------------------------------------------------------------

void HttpConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    *buf = static_cast<HttpConnection*>(handle->data)->owner_.read_buffer();
}

void HttpConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<HttpConnection*>(stream->data);
    if (nread == 0 || self->closing_) return;
    try {
        if (nread == UV_EOF) {
            self->peer_closed();
        } else if (nread < 0) {
            spdlog::debug("http: connection from {} failed: {}", self->peer_, uv_strerror(static_cast<int>(nread)));
            self->close_now();
        } else {
            self->received(std::string_view(buf->base, static_cast<size_t>(nread)));
        }
    } catch (const std::exception& e) {
        spdlog::error("http: connection from {} dropped: {}", self->peer_, e.what());
        self->close_now();
    }
}

void HttpConnection::received(std::string_view data) {
    if (finishing_) {
        // Our last answer is out; read and drop whatever still comes so that
        // closing does not reset the connection under the client's feet.
        discarded_bytes_ += data.size();
        if (discarded_bytes_ > kMaxDiscardBytes) close_now();
        return;
    }
    input_.append(data);
    pump();
}

void HttpConnection::peer_closed() {
    peer_eof_ = true;
    reading_ = false;  // libuv stops reading at EOF
    if (finishing_) {
        if (shutdown_done_) close_now();  // else on_shutdown closes, once our answer is out
        return;
    }
    // A half-closed client may still wait for answers: serve what was read,
    // then close (pump() sees the EOF once the input is used up).
    pump();
}

bool HttpConnection::can_parse() const {
    return !closing_ && !finishing_ && !in_flight_ && !wait_for_drain_;
}

void HttpConnection::pump() {
    if (pumping_ || closing_) return;
    pumping_ = true;
    size_t used = 0;
    while (used < input_.size() && can_parse()) {
        const auto step = parser_.feed(std::string_view(input_).substr(used));
        used += step.consumed;
        if (step.status == HttpRequestParser::Status::kError) {
            used = input_.size();
            fail_request(parser_.error_status(), parser_.error_reason());
            break;
        }
        if (step.status == HttpRequestParser::Status::kRequest) {
            dispatch(parser_.take_request());  // may answer at once; then the loop goes on
        } else if (parser_.take_continue_wanted()) {
            send("HTTP/1.1 100 Continue\r\n\r\n");
        }
        update_timer();
    }
    if (!closing_) input_.erase(0, used);
    pumping_ = false;
    if (closing_) return;

    if (can_parse() && peer_eof_ && input_.empty()) {
        if (parser_.started()) {
            close_now();  // the client gave up in the middle of a request
        } else {
            finish();  // everything asked is answered: flush and close
        }
        return;
    }
    update_reading();
    update_timer();
}

void HttpConnection::update_reading() {
    if (closing_) return;
    const bool want = !peer_eof_ && (finishing_ || input_.size() < limits_.max_pipelined_bytes);
    if (want == reading_) return;
    if (want) {
        if (int rc = uv_read_start(stream(), on_alloc, on_read); rc != 0) {
            spdlog::debug("http: cannot read from {}: {}", peer_, uv_strerror(rc));
            close_now();
            return;
        }
    } else {
        uv_read_stop(stream());
    }
    reading_ = want;
}

// ---- requests and answers --------------------------------------------------

void HttpConnection::dispatch(HttpRequest request) {
    in_flight_ = true;
    ++sequence_;
    arm_timer(TimerPurpose::kNone);  // the handler's time is not the client's
    head_request_ = request.method == "HEAD";
    http10_client_ = request.http_minor == 0;
    keep_alive_ = parser_.keep_alive() && !stop_after_response_ && !owner_.stopping();
    log_method_ = request.method;
    log_path_ = request.path;
    request.peer = peer_;
    spdlog::debug("http: {} {} from {}", log_method_, log_path_, peer_);

    const uint64_t sequence = sequence_;
    auto state = std::make_shared<ResponderState>(weak_from_this(), sequence);
    HttpResponder responder = [state](HttpResponse response) {
        if (state->answered) return;
        state->answered = true;
        if (auto alive = state->connection.lock()) alive->respond(state->sequence, std::move(response), false);
    };
    // `state` stays held across the call so that a throwing handler is logged
    // as such; releasing it afterwards leaves the responder's copies as the
    // only owners (all dropped unanswered: a 500).
    try {
        owner_.handle(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
        spdlog::error("http: handler failed on {} {}: {}; answering 500", log_method_, log_path_, e.what());
        respond(sequence, http_error_response(500), false);
    } catch (...) {
        spdlog::error("http: handler failed on {} {}; answering 500", log_method_, log_path_);
        respond(sequence, http_error_response(500), false);
    }
    state.reset();
}

void HttpConnection::respond(uint64_t sequence, HttpResponse response, bool dropped) {
    if (closing_ || !in_flight_ || sequence != sequence_) return;
    in_flight_ = false;
    served_any_ = true;
    if (dropped) {
        spdlog::error("http: handler dropped {} {} without answering; answering 500", log_method_, log_path_);
    }
    const bool close_after = !keep_alive_ || stop_after_response_ || owner_.stopping() ||
                             response_requests_close(response);
    const ResponseFraming framing{head_request_, !close_after, http10_client_, owner_.date()};
    auto bytes = serialize_response(response, framing);
    if (!bytes) {
        spdlog::error("http: refused the handler's answer to {} {}: {}; answering 500", log_method_, log_path_,
                      bytes.error());
        response = http_error_response(500);
        bytes = serialize_response(response, framing);
    }
    spdlog::debug("http: {} {} from {}: {}", log_method_, log_path_, peer_, response.status);
    send(std::move(bytes).value());
    if (closing_) return;
    if (close_after) {
        finish();
        return;
    }
    pump();  // the next request, read ahead already or still to come
}

void HttpConnection::fail_request(int status, std::string_view reason) {
    spdlog::debug("http: answering {} to {} and closing: {}", status, peer_, reason);
    const ResponseFraming framing{false, false, false, owner_.date()};
    send(serialize_response(http_error_response(status), framing).value());
    if (!closing_) finish();
}

// ---- writing ---------------------------------------------------------------

void HttpConnection::send(std::string bytes) {
    if (closing_) return;
    size_t offset = 0;
    if (write_queue_size(&tcp_) == 0) {
        // Most answers fit in the socket buffer: no request object, no copy.
        uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
        const int written = uv_try_write(stream(), &buf, 1);
        if (written >= 0 && static_cast<size_t>(written) == bytes.size()) return;
        if (written < 0 && written != UV_EAGAIN) {
            spdlog::debug("http: cannot write to {}: {}", peer_, uv_strerror(written));
            close_now();
            return;
        }
        if (written > 0) offset = static_cast<size_t>(written);
    }
    auto* pending = new PendingWrite;
    pending->bytes = std::move(bytes);
    pending->connection = this;
    pending->req.data = pending;
    uv_buf_t buf = uv_buf_init(pending->bytes.data() + offset, static_cast<unsigned>(pending->bytes.size() - offset));
    if (int rc = uv_write(&pending->req, stream(), &buf, 1, on_write); rc != 0) {
        delete pending;
        spdlog::debug("http: cannot write to {}: {}", peer_, uv_strerror(rc));
        close_now();
        return;
    }
    if (write_queue_size(&tcp_) > limits_.max_write_queue_bytes) {
        wait_for_drain_ = true;  // parse nothing more until the client reads
        update_timer();
    }
}

void HttpConnection::on_write(uv_write_t* req, int status) {
    auto* pending = static_cast<PendingWrite*>(req->data);
    HttpConnection* self = pending->connection;
    delete pending;
    if (self->closing_) return;  // UV_ECANCELED from close_now
    if (status < 0) {
        spdlog::debug("http: write to {} failed: {}", self->peer_, uv_strerror(status));
        self->close_now();
        return;
    }
    if (self->wait_for_drain_ && write_queue_size(&self->tcp_) <= self->limits_.max_write_queue_bytes) {
        self->wait_for_drain_ = false;
        self->arm_timer(TimerPurpose::kNone);
        self->pump();
    }
}

void HttpConnection::finish() {
    if (closing_ || finishing_) return;
    finishing_ = true;
    input_.clear();
    // The FIN goes out after every queued write (libuv orders them); until then
    // send_timeout bounds a client that does not read.
    if (int rc = uv_shutdown(&shutdown_req_, stream(), on_shutdown); rc != 0) {
        close_now();
        return;
    }
    arm_timer(TimerPurpose::kSend);
    update_reading();
}

void HttpConnection::on_shutdown(uv_shutdown_t* req, int status) {
    auto* self = static_cast<HttpConnection*>(req->handle->data);
    if (self->closing_) return;
    if (status < 0 || self->peer_eof_) {
        self->close_now();
        return;
    }
    // Lingering close: wait for the client's FIN (reading and dropping) so that
    // unread bytes on our side do not turn our close into a reset that could
    // destroy the answer before the client read it.
    self->shutdown_done_ = true;
    self->arm_timer(TimerPurpose::kLinger);
}

// ---- closing ---------------------------------------------------------------

void HttpConnection::stop_gracefully() {
    if (closing_ || finishing_) return;
    stop_after_response_ = true;
    if (in_flight_ || parser_.started()) return;  // the answer carries "Connection: close"
    if (input_.empty() && write_queue_size(&tcp_) == 0) {
        close_now();  // idle: nothing to lose
    } else {
        finish();  // answers still queued for the client
    }
}

void HttpConnection::close_now() {
    if (closing_) return;
    closing_ = true;
    in_flight_ = false;
    reading_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
}

void HttpConnection::on_close(uv_handle_t* handle) {
    auto* self = static_cast<HttpConnection*>(handle->data);
    if (--self->open_handles_ == 0) self->owner_.connection_closed(self);  // may free self: last statement
}

// ---- timers ----------------------------------------------------------------

void HttpConnection::update_timer() {
    if (closing_ || finishing_) return;  // finish() runs its own timers
    TimerPurpose want = TimerPurpose::kIdle;
    if (wait_for_drain_) {
        want = TimerPurpose::kSend;
    } else if (in_flight_) {
        want = TimerPurpose::kNone;
    } else if (parser_.started()) {
        want = TimerPurpose::kRequest;
    }
    if (want != timer_purpose_) arm_timer(want);  // a running deadline of the same kind keeps its start
}

void HttpConnection::arm_timer(TimerPurpose purpose) {
    if (closing_) return;
    timer_purpose_ = purpose;
    std::chrono::milliseconds after{0};
    switch (purpose) {
        case TimerPurpose::kNone:
            uv_timer_stop(&timer_);
            return;
        case TimerPurpose::kIdle:
            // A new connection gets as long as a request to start talking.
            after = served_any_ ? limits_.idle_timeout : limits_.request_timeout;
            break;
        case TimerPurpose::kRequest: after = limits_.request_timeout; break;
        case TimerPurpose::kSend: after = limits_.send_timeout; break;
        case TimerPurpose::kLinger: after = limits_.linger_timeout; break;
    }
    uv_timer_start(&timer_, on_timer, static_cast<uint64_t>(after.count()), 0);
}

void HttpConnection::on_timer(uv_timer_t* timer) {
    auto* self = static_cast<HttpConnection*>(timer->data);
    try {
        self->timer_fired();
    } catch (const std::exception& e) {
        spdlog::error("http: connection from {} dropped: {}", self->peer_, e.what());
        self->close_now();
    }
}

void HttpConnection::timer_fired() {
    const TimerPurpose purpose = std::exchange(timer_purpose_, TimerPurpose::kNone);
    switch (purpose) {
        case TimerPurpose::kNone:
            return;
        case TimerPurpose::kIdle:
            spdlog::debug("http: closing idle connection from {}", peer_);
            close_now();
            return;
        case TimerPurpose::kRequest:
            fail_request(408, "request not complete in time");
            return;
        case TimerPurpose::kSend:
            spdlog::debug("http: {} does not read its answers; closing", peer_);
            close_now();
            return;
        case TimerPurpose::kLinger:
            close_now();
            return;
    }
}

}  // namespace tokend
