// One outgoing request's curl easy handle: its options (the security settings
// live here), the callbacks that collect the answer within its limits, and the
// translation of curl's result into an HttpClientResponse. curl only; the
// libuv side and the queue are in http_client.cpp.
#pragma once

#include "core/result.h"
#include "io/http_client.h"

#include <curl/curl.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// Where a request goes, taken from its URL.
struct HttpTarget {
    std::string host;  // for error texts: "example.com", "127.0.0.1", "[::1]"
    std::string key;   // for the per-host limit: "https://example.com:443"
};

// Parses `url` (with curl's parser, so both agree) and accepts only http and
// https URLs with a host. The error names no part of the URL.
Result<HttpTarget> parse_http_target(const std::string& url);

// Refuses what would let a caller's strings change the request's framing: a
// method or header name that is not an HTTP token, a header value with CR, LF
// or NUL, a Content-Length or Transfer-Encoding header (curl sets those).
// Empty when the request is fine, else the reason (no values quoted).
std::string check_request(const HttpClientRequest& request);

// Builds the error text of a failed transfer: "<host>: <curl's reason>". curl's
// detailed message (`detail`, may be empty) is used unless it contains one of
// `secrets`; then only curl's generic text for the code.
std::string describe_transfer_error(std::string_view host, CURLcode code, std::string_view detail,
                                    const std::vector<std::string_view>& secrets);

// The parts of `url` and of the proxy URL that must not appear in an error
// text: each URL itself, its user info, its path-query-fragment and the
// longer pieces of that.
std::vector<std::string_view> url_secrets(std::string_view url, std::string_view proxy);

class HttpTransfer {
public:
    using Done = std::function<void(HttpClientResponse)>;

    HttpTransfer(HttpClientRequest request, HttpTarget target, Done done);
    // Cleans up the easy handle, which must no longer be in a multi handle.
    ~HttpTransfer();
    HttpTransfer(const HttpTransfer&) = delete;
    HttpTransfer& operator=(const HttpTransfer&) = delete;

    // Creates and configures the easy handle (CURLOPT_PRIVATE points to this).
    // Empty on success, else an error text for the response.
    std::string prepare(const HttpClientOptions& options);

    CURL* easy() const { return easy_; }
    const HttpTarget& target() const { return target_; }

    // The response for curl's final result `code`; call once, when curl is done.
    HttpClientResponse finish(CURLcode code);
    // The completion callback, moved out so it can run after this is gone.
    Done take_done() { return std::move(done_); }

private:
    static size_t on_body(char* data, size_t size, size_t count, void* self);
    static size_t on_header(char* data, size_t size, size_t count, void* self);

    HttpClientRequest request_;  // owns the URL and body curl points into
    HttpTarget target_;
    Done done_;
    CURL* easy_ = nullptr;
    curl_slist* header_list_ = nullptr;
    std::string proxy_;  // CURLOPT_PROXY points here; also a secret for error texts
    HttpClientResponse response_;
    size_t header_bytes_ = 0;
    bool body_too_large_ = false;
    bool headers_too_large_ = false;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace tokend
