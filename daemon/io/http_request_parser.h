// Turns the bytes of one client connection into HTTP requests, one at a time,
// with every HttpLimits size limit enforced and mapped to its status code.
// Built on http-parser (Debian's libhttp-parser, 2.9), which does the syntax;
// this class adds the policy http-parser leaves to its user.
//
// PURE: no I/O, no clock, no libuv (http-parser itself does neither). Unit-tested
// byte by byte in tests/io/http_request_parser_test.cpp.
//
// Status codes it produces, and why:
//   400  malformed syntax (anything http-parser rejects), a header name that is
//        not a token, HTTP/1.1 without exactly one Host, Content-Length with
//        Transfer-Encoding, a duplicated Content-Length, an unparsable target.
//        Also for methods http-parser does not know: it stops at the first byte
//        that matches no known method, so it cannot tell "FOO /" from garbage.
//   413  Content-Length above max_body_bytes (decided before any body byte), or
//        a chunked body growing past it.
//   414  request-target longer than max_url_bytes.
//   417  an Expect other than 100-continue (HTTP/1.1 only; HTTP/1.0 ignores Expect).
//   431  more than max_headers header lines, or more than max_header_bytes in them.
//   501  a Transfer-Encoding other than exactly "chunked"; the CONNECT method.
//   505  an HTTP major version other than 1.
#pragma once

#include "io/http_message.h"

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace tokend {

class HttpRequestParser {
public:
    explicit HttpRequestParser(const HttpLimits& limits);
    HttpRequestParser(const HttpRequestParser&) = delete;  // http-parser points back at us
    HttpRequestParser& operator=(const HttpRequestParser&) = delete;

    enum class Status {
        kNeedMore,  // everything given was consumed; no complete request yet
        kRequest,   // a request is complete: take_request(); bytes after `consumed` are the next one's
        kError,     // the connection's input is unusable: answer error_status() and close
    };
    struct Step {
        Status status;
        size_t consumed;  // bytes of `data` used; never more than data.size()
    };

    // Parses `data`, stopping right after the end of the first complete request.
    // After kRequest, call take_request() before feeding more. After kError every
    // further feed returns kError with nothing consumed.
    Step feed(std::string_view data);

    // The completed request (after kRequest). Leaves the parser ready for the next.
    HttpRequest take_request();

    // Some bytes of a request have been seen and it is not complete yet (CR/LF
    // between requests do not count).
    bool started() const { return started_; }

    // The request being received asked for "100 Continue" and has not sent its
    // body yet. Returns true once per request.
    bool take_continue_wanted();

    // After kRequest: whether the connection may carry another request (HTTP/1.1
    // without "Connection: close", HTTP/1.0 with "Connection: keep-alive", and no
    // Upgrade -- the bytes after an upgrade request are not HTTP).
    bool keep_alive() const { return keep_alive_; }

    // After kError: the status to answer, and http-parser's or our reason (for
    // debug logs; never holds request bytes).
    int error_status() const { return error_status_; }
    const std::string& error_reason() const { return error_reason_; }

private:
    static int on_message_begin(http_parser* parser);
    static int on_url(http_parser* parser, const char* at, size_t length);
    static int on_header_field(http_parser* parser, const char* at, size_t length);
    static int on_header_value(http_parser* parser, const char* at, size_t length);
    static int on_headers_complete(http_parser* parser);
    static int on_body(http_parser* parser, const char* at, size_t length);
    static int on_message_complete(http_parser* parser);

    int fail(int status, std::string reason);  // records the error; returns non-zero for http-parser
    int check_head();                          // policy checks once all headers are in
    static const http_parser_settings& settings();

    HttpLimits limits_;
    http_parser parser_{};
    HttpRequest request_;

    bool started_ = false;
    bool complete_ = false;
    bool url_done_ = false;
    bool headers_done_ = false;  // header callbacks after this are chunked trailers
    bool in_field_ = false;      // last header callback was for a name
    bool continue_wanted_ = false;
    bool keep_alive_ = false;
    size_t header_count_ = 0;
    size_t header_bytes_ = 0;
    size_t head_raw_bytes_ = 0;  // every byte of an unfinished head, whitespace included

    int error_status_ = 0;
    std::string error_reason_;
};

}  // namespace tokend
