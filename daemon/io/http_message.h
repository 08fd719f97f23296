// HTTP/1.1 messages as the public-side server hands them to its handler, and
// the pure helpers around them: reason phrases, the Date format, response
// serialization with its safety checks, and the canned error answers.
//
// PURE: no I/O, no clock (callers pass the time), no libuv. Everything here is
// unit-tested without sockets (tests/io/http_message_test.cpp).
#pragma once

#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One complete request. Strings are as received (no percent-decoding); header
// names keep the client's case, values have surrounding whitespace removed,
// repeated headers appear once per occurrence in arrival order.
struct HttpRequest {
    std::string method;  // "GET", "POST", ... (always one http-parser knows)
    std::string target;  // request-target as sent: "/cb?code=..&state=.." -- carries secrets, never log it
    std::string path;    // target without query and fragment: "/cb" ("/" for "http://host"; "*" for "OPTIONS *")
    std::string query;   // after '?', without the '?'; empty when absent. Parse with parse_query (core/url_encoding.h)
    HttpHeaders headers;
    std::string body;        // de-chunked; at most HttpLimits::max_body_bytes
    std::string peer;        // "127.0.0.1:5555" or "[::1]:5555"; empty if unknown
    int http_major = 1;
    int http_minor = 1;

    // The first header called `name` (ASCII case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
};

// A handler's answer. The server adds Content-Length, Date (unless set here)
// and Connection; it drops Content-Length, Transfer-Encoding and Connection set
// here (it frames the body itself). "Connection: close" here makes the server
// close the connection after this response.
struct PreparedResponse;
struct HttpResponse {
    int status = 200;  // 200..599 (1xx are refused: interim answers are the server's business)
    HttpHeaders headers;
    std::string body;
    // Set: a response checked and laid out once (prepare_response), sent as
    // is; status, headers and body above are then not looked at.
    std::shared_ptr<const PreparedResponse> prepared;
};

// A fixed answer served again and again (a page whose text never changes):
// its status line and headers checked and laid out once, so that each time
// only Date, Content-Length and Connection are added.
struct PreparedResponse {
    int status = 200;
    std::string head;  // status line and the handler's headers, each ending in CRLF
    std::string body;
    bool has_date = false;        // the handler set Date itself
    bool requests_close = false;  // the handler's headers ask for "Connection: close"
};

// What the server accepts from one client. Every limit has an answer (see
// http_server.h for which status each one produces).
struct HttpLimits {
    size_t max_header_bytes = 8192;  // sum over header lines of name + value + 4 (": " and CRLF)
    size_t max_url_bytes = 4096;     // request-target length
    size_t max_body_bytes = 16384;   // after de-chunking
    size_t max_headers = 64;         // header lines (chunked trailers count too)
    std::chrono::milliseconds idle_timeout{30000};     // keep-alive connection with no request in progress
    std::chrono::milliseconds request_timeout{10000};  // first byte of a request to its last byte
    std::chrono::milliseconds send_timeout{10000};     // a queued response must reach the kernel within this
    std::chrono::milliseconds linger_timeout{2000};    // after the last response: wait this long for the client's FIN
    size_t max_connections = 1024;          // beyond: accepted, answered 503, closed
    size_t max_pipelined_bytes = 16384;     // bytes read ahead while a request is being answered; reading pauses beyond
    size_t max_write_queue_bytes = 65536;   // unsent response bytes above which no further request is parsed
};

// "OK", "Not Found", ...; for an unknown code, the class name ("Client Error").
std::string_view http_reason_phrase(int status);

// IMF-fixdate (RFC 7231 7.1.1.1): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t seconds_since_epoch);

// Whether a header name is an RFC 7230 token and a value holds no CR, LF or NUL
// (what would let a value start a new header or a new response).
bool is_http_token(std::string_view name);
bool is_safe_header_value(std::string_view value);

// Whether a comma-separated header value (Connection, Transfer-Encoding, ...)
// lists `token`, ASCII case-insensitively.
bool header_lists_token(std::string_view value, std::string_view token);

// How a response goes on the wire; decided by the connection, not the handler.
struct ResponseFraming {
    bool head_request = false;    // send Content-Length of the body but no body
    bool keep_alive = true;       // false: "Connection: close"
    bool http10_client = false;   // a kept-alive HTTP/1.0 client needs "Connection: keep-alive"
    std::string_view date;        // value of the Date header, from http_date()
};

// The bytes of a response. Fails (and the caller should send a 500 instead)
// when the status is outside 200..599 or a header name is not a token or a
// value holds CR/LF/NUL -- never writes them (response splitting). 204 and 304
// carry neither body nor Content-Length (RFC 7230 3.3.2); every other status
// gets Content-Length.
Result<std::string> serialize_response(const HttpResponse& response, const ResponseFraming& framing);

// The same checks as serialize_response, once: a response whose `prepared`
// serializes to the very bytes `response` would, for every framing. Fails as
// serialize_response does.
Result<std::shared_ptr<const PreparedResponse>> prepare_response(HttpResponse response);

// Whether the handler's headers ask for the connection to be closed.
bool response_requests_close(const HttpResponse& response);

// The server's own answer for `status` (400, 408, 413, 414, 431, 500, 501,
// 503, 505, ...): a short text/plain body naming the status, nothing else.
HttpResponse http_error_response(int status);

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

}  // namespace tokend
