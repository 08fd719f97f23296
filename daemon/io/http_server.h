// The public-side HTTP/1.1 server on the event loop (OAuth redirects land here).
//
// Thread: everything -- construction, listen, the handler, the responder,
// close, destruction -- happens on the loop's thread. No locks.
//
// What the server does on its own, and never leaves to the handler:
//   - framing: Content-Length, Date, "Connection: close" when it will close
//     (keep-alive answers to HTTP/1.0 clients say "Connection: keep-alive"),
//     HEAD answers without body, 204/304 without Content-Length;
//   - limits (HttpLimits) and their answers, each followed by closing the
//     connection: 400 malformed, 413 body too large (by Content-Length before
//     the body, or while a chunked body grows), 414 target too long, 417
//     unknown Expect, 431 too many/too large headers, 408 request not complete
//     within request_timeout of its first byte, 501 Transfer-Encoding other than
//     chunked or CONNECT, 505 HTTP/2+ in a request line; the full table is in
//     io/http_request_parser.h. It never answers 404/405: routing is the
//     handler's job. Methods http-parser does not know get 400 (it cannot tell
//     them from garbage);
//   - "Expect: 100-continue": "100 Continue" once the head is accepted (a body
//     over the limit gets 413 instead);
//   - pipelining: one request at a time per connection, answers in request
//     order. While a request is with the handler the server reads ahead at most
//     max_pipelined_bytes, then stops reading (TCP pushes back on the client);
//   - backpressure: a further request is parsed only while the connection's
//     unsent bytes stay under max_write_queue_bytes; a response not handed to the
//     kernel within send_timeout (the client does not read) closes the connection;
//   - timeouts: a new connection that sends nothing within request_timeout, and
//     a kept-alive one idle for idle_timeout, are closed silently;
//   - more than max_connections: the new connection gets a 503 and is closed;
//     the others are not disturbed;
//   - response splitting: a handler header whose name is not a token or whose
//     value holds CR/LF/NUL, or a status outside 200..599, turns the answer into
//     a 500 (the handler's response is not written);
//   - logging: per-request lines at debug level, with the path but never the
//     query string or headers (they carry OAuth codes and state).
#pragma once

#include "io/http_message.h"

#include <uv.h>

#include <chrono>
#include <functional>
#include <string>

namespace tokend {

// Answers one request. Call exactly once, on the loop thread, now (inside the
// handler) or later. Calls after the first, and calls after the client went
// away or the server closed the connection, do nothing. If every copy of a
// responder is destroyed without being called, the client gets a 500 (so a
// forgotten request does not hang the connection).
using HttpResponder = std::function<void(HttpResponse)>;

// Receives each complete request. Exceptions escaping it become a 500.
using HttpHandler = std::function<void(HttpRequest&&, HttpResponder)>;

class HttpServer {
public:
    HttpServer(uv_loop_t* loop, HttpLimits limits, HttpHandler handler);
    // Destroying a server that is not closed yet closes every connection at
    // once (no answers to requests in progress); its memory is then released
    // by the loop's close callbacks, so the loop must run again before
    // uv_loop_close. The normal way is close(), run the loop until done, destroy.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and listens on host:port ("127.0.0.1", "::1", "0.0.0.0", "::";
    // port 0 picks a free one) and returns the bound port. May be called more
    // than once (several addresses). Throws std::runtime_error naming the
    // address: "cannot listen on 127.0.0.1:6001: address already in use".
    int listen(const std::string& host, int port);

    // Takes over an already bound socket (systemd socket activation) and
    // listens on it; returns its port. The server owns the fd from then on,
    // also when this throws. Throws std::runtime_error like listen().
    int adopt(int fd);

    // Graceful stop: stops accepting at once, closes idle connections, lets
    // requests in progress (being received, with the handler, or being sent)
    // finish and get their answer with "Connection: close", and after `grace`
    // closes whatever is left. Then calls `done` (may be empty) on the loop
    // thread once every handle of the server is closed. A second call only
    // replaces nothing: the first `done` stands.
    void close(std::chrono::milliseconds grace, std::function<void()> done);

    // Open client connections (not counting ones refused over the limit).
    size_t connections() const;

    class Impl;  // http_server.cpp

private:
    Impl* impl_;  // deletes itself once the owner let go and its handles are closed
};

}  // namespace tokend
