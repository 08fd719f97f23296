// The HTTP request parser (daemon/io/http_request_parser): the bytes any
// client on the internet sends to GET /redirect.
//
// The first input byte picks the limits (tiny ones, so every limit's answer
// is reachable within libFuzzer's input sizes, or the defaults) and the second
// the size of the pieces the rest arrives in, as reads off a socket would.
// Checks: the parser never consumes more than it was given; after an error it
// consumes nothing more; every request respects the limits (target, headers,
// body), has a token for each header name and no CR/LF in values, and its path
// and query are pieces of its target; an error is one of the statuses the
// header documents. And reads do not matter: the same bytes fed whole and in
// pieces give the same requests, and both end in an error or neither.
#include "fuzz_check.h"

#include "io/http_request_parser.h"

#include <algorithm>

namespace {

using namespace tokend;

struct Outcome {
    std::vector<HttpRequest> requests;
    std::vector<bool> keep_alive;
    int error_status = 0;
    bool started = false;
};

bool same(const HttpRequest& a, const HttpRequest& b) {
    return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
           a.headers == b.headers && a.body == b.body && a.http_major == b.http_major && a.http_minor == b.http_minor;
}

void check_request(const HttpRequest& request, const HttpLimits& limits) {
    FUZZ_CHECK(request.target.size() <= limits.max_url_bytes);
    FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
    FUZZ_CHECK(request.headers.size() <= limits.max_headers);
    size_t header_bytes = 0;
    for (const auto& [name, value] : request.headers) {
        FUZZ_CHECK(is_http_token(name));
        FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
        header_bytes += name.size() + value.size() + 4;
    }
    FUZZ_CHECK(header_bytes <= limits.max_header_bytes);
    FUZZ_CHECK(!request.method.empty() && request.method != "CONNECT");
    FUZZ_CHECK(request.http_major == 1);
    FUZZ_CHECK(request.path == "/" || request.target.find(request.path) != std::string::npos);
    if (!request.query.empty()) FUZZ_CHECK(request.target.find("?" + request.query) != std::string::npos);
}

// Feeds `bytes` in pieces of `piece` bytes (all at once when 0).
Outcome run(std::string_view bytes, size_t piece, const HttpLimits& limits) {
    static constexpr int kStatuses[] = {400, 413, 414, 417, 431, 501, 505};
    Outcome outcome;
    HttpRequestParser parser(limits);
    if (piece == 0) piece = bytes.size();
    bool closed = false;  // after an error, or a request that does not keep the connection
    for (size_t at = 0; at < bytes.size() && !closed; at += piece) {
        std::string_view data = bytes.substr(at, piece);
        while (!data.empty()) {
            const auto step = parser.feed(data);
            FUZZ_CHECK(step.consumed <= data.size());
            data.remove_prefix(step.consumed);
            if (step.status == HttpRequestParser::Status::kError) {
                outcome.error_status = parser.error_status();
                FUZZ_CHECK(std::find(std::begin(kStatuses), std::end(kStatuses), outcome.error_status) !=
                           std::end(kStatuses));
                const auto again = parser.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                FUZZ_CHECK(again.status == HttpRequestParser::Status::kError && again.consumed == 0);
                closed = true;
                break;
            }
            if (step.status == HttpRequestParser::Status::kRequest) {
                outcome.keep_alive.push_back(parser.keep_alive());
                outcome.requests.push_back(parser.take_request());
                check_request(outcome.requests.back(), limits);
                if (!outcome.keep_alive.back()) {
                    closed = true;
                    break;
                }
                continue;
            }
            FUZZ_CHECK(data.empty());  // kNeedMore takes everything
        }
    }
    outcome.started = parser.started();
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    HttpLimits limits;
    if (data[0] & 1) {
        limits.max_header_bytes = 64 + data[0] * 2;
        limits.max_url_bytes = 16 + data[0];
        limits.max_body_bytes = data[0];
        limits.max_headers = 1 + data[0] % 8;
    }
    const size_t piece = 1 + data[1] % 16;
    const std::string_view bytes = tokend::fuzz::as_text(data + 2, size - 2);

    const Outcome whole = run(bytes, 0, limits);
    const Outcome pieces = run(bytes, piece, limits);
    FUZZ_CHECK(whole.requests.size() == pieces.requests.size());
    for (size_t i = 0; i < whole.requests.size(); ++i) {
        FUZZ_CHECK(same(whole.requests[i], pieces.requests[i]));
    }
    FUZZ_CHECK(whole.keep_alive == pieces.keep_alive);
    // Whether the input is refused does not depend on reads. Which status a
    // request with two faults gets may: a piece that ends inside a header name
    // lets the header count (431) trip before http-parser sees the bad byte
    // that follows (400) -- a streaming parser answers the first fault it sees.
    FUZZ_CHECK((whole.error_status == 0) == (pieces.error_status == 0));
    FUZZ_CHECK(whole.started == pieces.started);
    return 0;
}
