// Outgoing HTTP(S) requests (token endpoints, provider APIs) on the event loop:
// libcurl's multi-socket interface driven by libuv, one uv_poll_t per socket
// curl asks us to watch and one uv_timer_t for curl's timeout. Nothing here
// blocks the loop (name resolution runs on curl's own resolver threads).
//
// THREADING: everything, callbacks included, runs on the loop thread; no
// method may be called from another thread.
//
// SECURITY: TLS peers are always verified (peer and host name); redirects are
// never followed (a 3xx comes back as is); only http:// and https:// are
// allowed; responses are not decompressed and their size is capped. URLs,
// headers and bodies may carry secrets (codes, client secrets, tokens): the
// client never logs anything, and its error texts name only the host and
// curl's reason.
#pragma once

#include "core/retry_policy.h"

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend {

struct HttpClientRequest {
    // A token such as "GET", "POST", "PUT", "DELETE", "HEAD"; anything else
    // with characters outside the HTTP token set is refused.
    std::string method = "GET";
    // http:// or https:// only. May carry secrets in its query: never logged.
    std::string url;
    // Sent in order after curl's own (Host, User-Agent, Accept, Content-Length).
    // A header given here replaces curl's of the same name; names must be
    // tokens and values must not contain CR, LF or NUL; Content-Length and
    // Transfer-Encoding are refused (curl frames the body). May carry secrets.
    std::vector<std::pair<std::string, std::string>> headers;
    // Sent as is when non-empty or when the method is POST. curl labels a POST
    // body application/x-www-form-urlencoded unless a Content-Type is given.
    std::string body;
    // Whole transfer, counted from when it leaves the queue (see
    // HttpClientOptions::max_concurrent), not from send(). At least 1 ms.
    std::chrono::milliseconds timeout{10000};
    std::chrono::milliseconds connect_timeout{5000};
    // A larger response body fails the request (status 0, error says so).
    size_t max_response_bytes = 1 << 20;
};

struct HttpClientResponse {
    // The HTTP status, passed through whatever it is (200, 302, 429, 500...).
    // 0 when there is no complete HTTP answer; `error` then says why, and
    // `body` and `headers` are empty.
    int status = 0;
    std::string body;
    // Response headers in arrival order, names as sent, values trimmed. Only
    // the final response's (an interim 100 Continue is dropped).
    std::vector<std::pair<std::string, std::string>> headers;
    // "127.0.0.1: Failed to connect to 127.0.0.1 port 9 ...": the host and
    // curl's reason, never the path, query or any header. Empty on success.
    std::string error;
    bool timed_out = false;  // the timeout or connect_timeout ran out
    bool cancelled = false;  // close() ran first; error is then "cancelled"

    // The first header called `name` (ASCII case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
};

struct HttpClientOptions {
    // PEM bundle of CAs to trust instead of the system's; empty: system default.
    std::string ca_file;
    // Transfers running at once, over all hosts and per host (scheme, host and
    // port); more wait in a queue, in order, and their timeout has not started.
    size_t max_concurrent = 16;
    size_t max_per_host = 8;
    std::string user_agent = "tokend/0.1";
    // nullopt: curl's default, the http_proxy / https_proxy / no_proxy
    // environment variables. "": never a proxy. Otherwise the proxy's URL.
    std::optional<std::string> proxy;
};

// What the retry policy needs to know about a response. retry_after points
// into `response`, which must outlive the result.
AttemptOutcome attempt_outcome(const HttpClientResponse& response);

class HttpClient {
public:
    // Throws std::runtime_error when curl cannot be set up (start-up only).
    HttpClient(uv_loop_t* loop, HttpClientOptions options);
    // Call close() and let `closed` run first. Destroying an open client (say,
    // while unwinding a failed start-up) drops every pending `done` unrun and
    // closes the handles in the background; the loop must run once more for
    // that memory to be freed.
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Starts a request, or queues it behind the concurrency limits. `done`
    // runs exactly once, on the loop thread, never inside send() itself --
    // except after close() was called: then it runs before send() returns,
    // with error "cancelled". A request refused up front (bad URL, method or
    // header) completes on a later loop turn with status 0 and an error.
    // `done` must not throw.
    void send(HttpClientRequest request, std::function<void(HttpClientResponse)> done);

    // Cancels what is queued or in flight, closes every handle, then calls each
    // pending `done` (error "cancelled", cancelled = true) and after them
    // `closed`, all on later loop turns. Call once; later calls do nothing.
    // The client may be destroyed from inside `closed`.
    void close(std::function<void()> closed);

    // Requests whose `done` has not run yet: running, queued or finishing.
    size_t in_flight() const;
    // Of those, the ones handed to curl (the rest wait in the queue).
    size_t running() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tokend
