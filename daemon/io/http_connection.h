// One accepted client of the HTTP server: reads bytes, feeds them to the
// request parser one request at a time, hands each request to the handler,
// writes the answers in order, and enforces the connection's timeouts.
// Internal to the server (http_server.cpp); loop thread only.
#pragma once

#include "io/http_message.h"
#include "io/http_request_parser.h"
#include "io/http_server.h"

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tokend {

class HttpConnection;

// What a connection needs from the server that owns it.
class HttpConnectionOwner {
public:
    virtual const HttpLimits& limits() const = 0;
    // Whether the server is closing: answers carry "Connection: close".
    virtual bool stopping() const = 0;
    // Runs the user's handler.
    virtual void handle(HttpRequest&& request, HttpResponder responder) = 0;
    // The Date header's value for now.
    virtual std::string_view date() = 0;
    // A scratch buffer for reads; its bytes are copied out before the next read.
    virtual uv_buf_t read_buffer() = 0;
    // Both handles of `connection` are closed; the owner may drop it now.
    virtual void connection_closed(HttpConnection* connection) = 0;

protected:
    ~HttpConnectionOwner() = default;
};

// Owned through a shared_ptr by the server until its handles are closed;
// responders hold weak_ptrs, so a late answer finds nothing and does nothing.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    explicit HttpConnection(HttpConnectionOwner& owner);
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // Initializes the two handles; on failure returns the libuv error and the
    // object holds no handle (it may be destroyed at once).
    int init(uv_loop_t* loop);
    // The TCP handle to pass to uv_accept (after init).
    uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
    // Starts reading after a successful accept.
    void start();

    // The server is closing: finish what is in progress, then close.
    void stop_gracefully();
    // Closes both handles now; pending writes are dropped. Idempotent.
    void close_now();

    // The answer to request number `sequence` (from its responder). `dropped`:
    // the responder was destroyed without an answer (the response is a 500).
    void respond(uint64_t sequence, HttpResponse response, bool dropped);

private:
    enum class TimerPurpose { kNone, kIdle, kRequest, kSend, kLinger };
    struct PendingWrite;

    static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_timer(uv_timer_t* timer);
    static void on_close(uv_handle_t* handle);

    void received(std::string_view data);
    void peer_closed();
    void pump();
    void dispatch(HttpRequest request);
    void fail_request(int status, std::string_view reason);
    void send(std::string bytes);
    void finish();
    bool can_parse() const;
    void update_reading();
    void update_timer();
    void arm_timer(TimerPurpose purpose);
    void timer_fired();

    HttpConnectionOwner& owner_;
    const HttpLimits& limits_;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_shutdown_t shutdown_req_{};
    int open_handles_ = 0;

    HttpRequestParser parser_;
    std::string input_;  // read ahead, not parsed yet
    std::string peer_;

    // The request with the handler (answers go out in order, one at a time).
    bool in_flight_ = false;
    uint64_t sequence_ = 0;
    bool head_request_ = false;
    bool http10_client_ = false;
    bool keep_alive_ = false;
    std::string log_method_;
    std::string log_path_;  // path only: the query carries OAuth codes

    bool served_any_ = false;           // idle timeout applies after the first answer
    bool stop_after_response_ = false;  // the server is closing
    bool wait_for_drain_ = false;       // unsent bytes above max_write_queue_bytes
    bool finishing_ = false;            // last answer queued; shutting down our side
    bool shutdown_done_ = false;        // our FIN is out; lingering for the client's
    bool peer_eof_ = false;
    bool reading_ = false;
    bool pumping_ = false;
    bool closing_ = false;
    size_t discarded_bytes_ = 0;  // read while lingering
    TimerPurpose timer_purpose_ = TimerPurpose::kNone;
};

}  // namespace tokend
