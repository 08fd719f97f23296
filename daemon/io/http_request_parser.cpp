#include "io/http_request_parser.h"

#include <limits>
#include <utility>

namespace tokend {
namespace {

HttpRequestParser* self_of(http_parser* parser) { return static_cast<HttpRequestParser*>(parser->data); }

std::string trimmed(const std::string& text) {
    size_t begin = 0;
    size_t end = text.size();
    while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
    while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
    return text.substr(begin, end - begin);
}

// Raw head bytes we tolerate beyond the counted URL and header bytes: request
// line framing, whitespace http-parser skips without reporting it.
constexpr size_t kHeadSlackBytes = 1024;

}  // namespace

const http_parser_settings& HttpRequestParser::settings() {
    static const http_parser_settings table = [] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    return table;
}

HttpRequestParser::HttpRequestParser(const HttpLimits& limits) : limits_(limits) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
}

int HttpRequestParser::fail(int status, std::string reason) {
    if (error_status_ == 0) {
        error_status_ = status;
        error_reason_ = std::move(reason);
    }
    return -1;
}

HttpRequestParser::Step HttpRequestParser::feed(std::string_view data) {
    if (error_status_ != 0) return {Status::kError, 0};
    if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);

    const size_t consumed = http_parser_execute(&parser_, &settings(), data.data(), data.size());
    const auto error = HTTP_PARSER_ERRNO(&parser_);
    if (error == HPE_PAUSED && complete_) {
        // An upgrade request ends HTTP on this connection: what follows is another protocol.
        if (parser_.upgrade) keep_alive_ = false;
        return {Status::kRequest, consumed};
    }
    if (error != HPE_OK) {
        if (error_status_ == 0) {
            const int status = error == HPE_HEADER_OVERFLOW              ? 431
                               : error == HPE_INVALID_TRANSFER_ENCODING ? 501
                                                                         : 400;
            fail(status, http_errno_description(error));
        }
        return {Status::kError, consumed};
    }
    // Whitespace padding is skipped by http-parser without a callback we could
    // count; bound the raw size of an unfinished head as well.
    if (started_ && !headers_done_) {
        head_raw_bytes_ += consumed;
        if (head_raw_bytes_ > limits_.max_url_bytes + limits_.max_header_bytes + kHeadSlackBytes) {
            if (url_done_) fail(431, "request head too large");
            else fail(414, "request line too long");
            return {Status::kError, consumed};
        }
    }
    return {Status::kNeedMore, consumed};
}

HttpRequest HttpRequestParser::take_request() {
    complete_ = false;
    HttpRequest done = std::move(request_);
    request_ = HttpRequest{};
    return done;
}

bool HttpRequestParser::take_continue_wanted() { return std::exchange(continue_wanted_, false); }

int HttpRequestParser::on_message_begin(http_parser* parser) {
    auto* self = self_of(parser);
    self->request_ = HttpRequest{};
    self->started_ = true;
    self->complete_ = false;
    self->url_done_ = false;
    self->headers_done_ = false;
    self->in_field_ = false;
    self->continue_wanted_ = false;
    self->keep_alive_ = false;
    self->header_count_ = 0;
    self->header_bytes_ = 0;
    self->head_raw_bytes_ = 0;
    return 0;
}

int HttpRequestParser::on_url(http_parser* parser, const char* at, size_t length) {
    auto* self = self_of(parser);
    if (self->request_.target.size() + length > self->limits_.max_url_bytes) {
        return self->fail(414, "request-target longer than the limit");
    }
    self->request_.target.append(at, length);
    return 0;
}

int HttpRequestParser::on_header_field(http_parser* parser, const char* at, size_t length) {
    auto* self = self_of(parser);
    self->url_done_ = true;
    if (!self->in_field_) {
        self->in_field_ = true;
        if (++self->header_count_ > self->limits_.max_headers) return self->fail(431, "too many header lines");
        self->header_bytes_ += 4;  // ": " and CRLF
        if (!self->headers_done_) self->request_.headers.emplace_back();
    }
    self->header_bytes_ += length;
    if (self->header_bytes_ > self->limits_.max_header_bytes) return self->fail(431, "header lines too large");
    if (!self->headers_done_) self->request_.headers.back().first.append(at, length);
    return 0;
}

int HttpRequestParser::on_header_value(http_parser* parser, const char* at, size_t length) {
    auto* self = self_of(parser);
    self->in_field_ = false;
    self->header_bytes_ += length;
    if (self->header_bytes_ > self->limits_.max_header_bytes) return self->fail(431, "header lines too large");
    // An obsolete line folding arrives as a further piece starting with its
    // whitespace, so the pieces join as "first SP rest" (RFC 7230 3.2.4's option).
    if (!self->headers_done_) self->request_.headers.back().second.append(at, length);
    return 0;
}

int HttpRequestParser::on_headers_complete(http_parser* parser) {
    auto* self = self_of(parser);
    self->url_done_ = true;
    self->headers_done_ = true;
    self->in_field_ = false;
    return self->check_head();
}

int HttpRequestParser::check_head() {
    HttpRequest& request = request_;
    request.method = http_method_str(static_cast<http_method>(parser_.method));
    request.http_major = parser_.http_major;
    request.http_minor = parser_.http_minor;

    if (parser_.http_major != 1) return fail(505, "HTTP major version is not 1");
    if (parser_.method == HTTP_CONNECT) return fail(501, "CONNECT is not supported");

    size_t hosts = 0;
    const std::string* transfer_encoding = nullptr;
    const std::string* expect = nullptr;
    for (auto& [name, value] : request.headers) {
        if (!is_http_token(name)) return fail(400, "header name is not a token");
        value = trimmed(value);
        if (iequals(name, "Host")) ++hosts;
        else if (iequals(name, "Transfer-Encoding")) transfer_encoding = &value;
        else if (iequals(name, "Expect")) expect = &value;
    }
    // RFC 7230 5.4: a server MUST answer 400 to HTTP/1.1 without exactly one Host.
    if (parser_.http_minor >= 1 && hosts != 1) return fail(400, "HTTP/1.1 request without exactly one Host");
    if (hosts > 1) return fail(400, "more than one Host");

    bool chunked = false;
    if (transfer_encoding != nullptr) {
        // Only plain chunked: anything layered ("gzip, chunked") we would have to
        // decode, and a client sending it deserves to hear we cannot (RFC 7230 3.3.1).
        if (!iequals(*transfer_encoding, "chunked")) return fail(501, "unsupported Transfer-Encoding");
        chunked = true;
    }
    const uint64_t content_length = parser_.content_length;
    const bool has_content_length = !chunked && content_length != std::numeric_limits<uint64_t>::max();
    if (has_content_length && content_length > limits_.max_body_bytes) {
        return fail(413, "Content-Length above the limit");
    }
    if (has_content_length) request.body.reserve(static_cast<size_t>(content_length));

    if (expect != nullptr && parser_.http_minor >= 1) {
        if (!iequals(*expect, "100-continue")) return fail(417, "unsupported Expect");
        continue_wanted_ = chunked || (has_content_length && content_length > 0);
    }

    http_parser_url url;
    http_parser_url_init(&url);
    if (http_parser_parse_url(request.target.data(), request.target.size(), 0, &url) != 0) {
        return fail(400, "unparsable request-target");
    }
    if (url.field_set & (1 << UF_PATH)) {
        request.path = request.target.substr(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
    } else {
        request.path = "/";
    }
    if (url.field_set & (1 << UF_QUERY)) {
        request.query = request.target.substr(url.field_data[UF_QUERY].off, url.field_data[UF_QUERY].len);
    }
    return 0;
}

int HttpRequestParser::on_body(http_parser* parser, const char* at, size_t length) {
    auto* self = self_of(parser);
    self->continue_wanted_ = false;  // the client did not wait for it
    if (self->request_.body.size() + length > self->limits_.max_body_bytes) {
        return self->fail(413, "body larger than the limit");
    }
    self->request_.body.append(at, length);
    return 0;
}

int HttpRequestParser::on_message_complete(http_parser* parser) {
    auto* self = self_of(parser);
    self->started_ = false;
    self->complete_ = true;
    self->continue_wanted_ = false;
    self->keep_alive_ = http_should_keep_alive(parser) != 0;
    http_parser_pause(parser, 1);  // one request at a time: feed() returns right here
    return 0;
}

}  // namespace tokend
