#include "io/http_request_parser.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace tokend {
namespace {

// Feeds `input` in pieces of `piece` bytes (0: all at once) and collects the
// requests, stopping at the first error.
struct Parsed {
    std::vector<HttpRequest> requests;
    std::vector<bool> keep_alive;
    int error = 0;
    bool started_at_end = false;
};

Parsed parse(std::string_view input, size_t piece = 0, HttpLimits limits = {}) {
    HttpRequestParser parser(limits);
    Parsed out;
    std::string pending;
    size_t offset = 0;
    while (offset < input.size() || !pending.empty()) {
        if (offset < input.size()) {
            const size_t n = piece == 0 ? input.size() - offset : std::min(piece, input.size() - offset);
            pending.append(input.substr(offset, n));
            offset += n;
        }
        while (!pending.empty()) {
            const auto step = parser.feed(pending);
            EXPECT_LE(step.consumed, pending.size());
            pending.erase(0, step.consumed);
            if (step.status == HttpRequestParser::Status::kError) {
                out.error = parser.error_status();
                return out;
            }
            if (step.status == HttpRequestParser::Status::kRequest) {
                out.keep_alive.push_back(parser.keep_alive());
                out.requests.push_back(parser.take_request());
                if (!out.keep_alive.back()) return out;
                continue;
            }
            break;  // need more
        }
        if (offset >= input.size()) break;
    }
    out.started_at_end = parser.started();
    return out;
}

class ParserPieces : public testing::TestWithParam<size_t> {};
INSTANTIATE_TEST_SUITE_P(AllAtOnceAndByteByByte, ParserPieces, testing::Values(0, 1, 3, 7));

TEST_P(ParserPieces, SimpleGet) {
    const auto out = parse("GET /cb?code=abc&state=x%20y HTTP/1.1\r\nHost: example\r\nX-A:  v  \r\n\r\n", GetParam());
    ASSERT_EQ(out.error, 0);
    ASSERT_EQ(out.requests.size(), 1u);
    const HttpRequest& r = out.requests[0];
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/cb?code=abc&state=x%20y");
    EXPECT_EQ(r.path, "/cb");
    EXPECT_EQ(r.query, "code=abc&state=x%20y");
    ASSERT_NE(r.header("x-a"), nullptr);
    EXPECT_EQ(*r.header("x-a"), "v");
    EXPECT_EQ(r.http_minor, 1);
    EXPECT_TRUE(out.keep_alive[0]);
    EXPECT_FALSE(out.started_at_end);
}

TEST_P(ParserPieces, PipelinedRequestsOneAtATime) {
    const auto out = parse(
        "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "\r\n"  // stray CRLF between requests is tolerated (RFC 7230 3.5)
        "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        "GET /4 HTTP/1.1\r\nHost: h\r\n\r\n",
        GetParam());
    ASSERT_EQ(out.error, 0);
    ASSERT_EQ(out.requests.size(), 3u);  // stops after the one that closes
    EXPECT_EQ(out.requests[0].path, "/1");
    EXPECT_EQ(out.requests[1].body, "hello");
    EXPECT_EQ(out.requests[2].path, "/3");
    EXPECT_FALSE(out.keep_alive[2]);
}

TEST_P(ParserPieces, ChunkedBodyWithTrailers) {
    const auto out = parse(
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-A: t\r\n\r\n",
        GetParam());
    ASSERT_EQ(out.error, 0);
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_EQ(out.requests[0].body, "hello world");
    EXPECT_EQ(out.requests[0].header("Trailer-A"), nullptr);  // trailers are not headers
}

TEST_P(ParserPieces, Http10) {
    auto out = parse("GET / HTTP/1.0\r\n\r\n", GetParam());
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_FALSE(out.keep_alive[0]);
    EXPECT_EQ(out.requests[0].http_minor, 0);
    out = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", GetParam());
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_TRUE(out.keep_alive[0]);
}

TEST_P(ParserPieces, Limits) {
    HttpLimits limits;
    limits.max_url_bytes = 32;
    limits.max_header_bytes = 64;
    limits.max_headers = 3;
    limits.max_body_bytes = 8;
    const size_t p = GetParam();
    EXPECT_EQ(parse("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n", p, limits).error, 414);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", p, limits).error, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: " + std::string(60, 'x') + "\r\n\r\n", p, limits).error, 431);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n", p, limits).error, 413);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nhello\r\n", p,
                    limits)
                  .error,
              413);
    // Exactly at the limits is fine.
    const auto ok = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n12345678", p, limits);
    EXPECT_EQ(ok.error, 0);
    ASSERT_EQ(ok.requests.size(), 1u);
    EXPECT_EQ(ok.requests[0].body, "12345678");
}

TEST_P(ParserPieces, WhitespacePaddingIsBounded) {
    HttpLimits limits;
    limits.max_url_bytes = 16;
    limits.max_header_bytes = 16;
    const auto out = parse("GET" + std::string(5000, ' '), GetParam(), limits);
    EXPECT_NE(out.error, 0);
}

TEST(HttpRequestParser, Malformed) {
    EXPECT_EQ(parse("\x01\x02garbage\r\n\r\n").error, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n").error, 400);
    EXPECT_EQ(parse("GET /a b HTTP/1.1\r\n\r\n").error, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n").error, 400);
    EXPECT_EQ(parse("FOO / HTTP/1.1\r\nHost: h\r\n\r\n").error, 400);  // unknown method: see the header
}

TEST(HttpRequestParser, HostRules) {
    EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n").error, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").error, 400);
    EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").error, 0);
}

TEST(HttpRequestParser, SmugglingShapesAreRefused) {
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n").error, 400);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").error, 400);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n").error, 400);
}

TEST(HttpRequestParser, TransferEncodingsOtherThanChunkedAre501) {
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n").error, 501);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n").error, 501);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").error, 501);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n").error, 0);
}

TEST(HttpRequestParser, VersionsAndConnect) {
    EXPECT_EQ(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n").error, 505);
    EXPECT_EQ(parse("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n").error, 501);
}

TEST(HttpRequestParser, ExpectContinue) {
    HttpRequestParser parser(HttpLimits{});
    const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    auto step = parser.feed(head);
    EXPECT_EQ(step.status, HttpRequestParser::Status::kNeedMore);
    EXPECT_TRUE(parser.take_continue_wanted());
    EXPECT_FALSE(parser.take_continue_wanted());  // once
    step = parser.feed("abc");
    EXPECT_EQ(step.status, HttpRequestParser::Status::kRequest);
    EXPECT_EQ(parser.take_request().body, "abc");

    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n").error, 417);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n").error, 413);
}

TEST(HttpRequestParser, NoContinueWhenBodyArrivedWithHead) {
    HttpRequestParser parser(HttpLimits{});
    const auto step = parser.feed("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_EQ(step.status, HttpRequestParser::Status::kRequest);
    EXPECT_FALSE(parser.take_continue_wanted());
}

TEST(HttpRequestParser, TargetForms) {
    auto out = parse("GET http://example.com/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_EQ(out.requests[0].path, "/p/q");
    EXPECT_EQ(out.requests[0].query, "x=1");
    out = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_EQ(out.requests[0].path, "*");
    out = parse("GET /p#frag HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_EQ(out.requests[0].path, "/p");
    EXPECT_EQ(out.requests[0].query, "");
}

TEST(HttpRequestParser, UpgradeEndsKeepAlive) {
    const auto out = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_FALSE(out.keep_alive[0]);
}

TEST(HttpRequestParser, StartedTracksPartialRequests) {
    HttpRequestParser parser(HttpLimits{});
    EXPECT_FALSE(parser.started());
    parser.feed("\r\n");
    EXPECT_FALSE(parser.started());  // a stray CRLF is not a request
    parser.feed("GE");
    EXPECT_TRUE(parser.started());
    EXPECT_EQ(parser.feed("T / HTTP/1.1\r\nHost: h\r\n\r\n").status, HttpRequestParser::Status::kRequest);
    EXPECT_FALSE(parser.started());
}

TEST(HttpRequestParser, ErrorIsSticky) {
    HttpRequestParser parser(HttpLimits{});
    EXPECT_EQ(parser.feed("\x01").status, HttpRequestParser::Status::kError);
    const auto again = parser.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(again.status, HttpRequestParser::Status::kError);
    EXPECT_EQ(again.consumed, 0u);
    EXPECT_EQ(parser.error_status(), 400);
}

}  // namespace
}  // namespace tokend
