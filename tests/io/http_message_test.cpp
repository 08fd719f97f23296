#include "io/http_message.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(HttpMessage, HeaderLookupIgnoresCase) {
    HttpRequest request;
    request.headers = {{"Host", "a"}, {"X-Thing", "1"}, {"x-thing", "2"}};
    ASSERT_NE(request.header("host"), nullptr);
    EXPECT_EQ(*request.header("HOST"), "a");
    EXPECT_EQ(*request.header("X-THING"), "1");  // the first of repeated headers
    EXPECT_EQ(request.header("Cookie"), nullptr);
}

TEST(HttpMessage, ReasonPhrases) {
    EXPECT_EQ(http_reason_phrase(200), "OK");
    EXPECT_EQ(http_reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(http_reason_phrase(418), "Client Error");
    EXPECT_EQ(http_reason_phrase(599), "Server Error");
}

TEST(HttpMessage, DateIsImfFixdate) {
    EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 7231's example
    EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(http_date(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpMessage, TokensAndValues) {
    EXPECT_TRUE(is_http_token("Content-Type"));
    EXPECT_TRUE(is_http_token("x!#$%&'*+-.^_`|~9"));
    EXPECT_FALSE(is_http_token(""));
    EXPECT_FALSE(is_http_token("Bad Name"));
    EXPECT_FALSE(is_http_token("Bad:Name"));
    EXPECT_TRUE(is_safe_header_value("text/html; charset=\"utf-8\"\t"));
    EXPECT_FALSE(is_safe_header_value("a\r\nSet-Cookie: x"));
    EXPECT_FALSE(is_safe_header_value("a\nb"));
    EXPECT_FALSE(is_safe_header_value(std::string_view("a\0b", 3)));
}

TEST(HttpMessage, HeaderListsToken) {
    EXPECT_TRUE(header_lists_token("close", "close"));
    EXPECT_TRUE(header_lists_token("keep-alive, Close", "close"));
    EXPECT_TRUE(header_lists_token(" Upgrade ,close ", "close"));
    EXPECT_FALSE(header_lists_token("closed", "close"));
    EXPECT_FALSE(header_lists_token("", "close"));
}

TEST(HttpMessage, SerializesWithFraming) {
    HttpResponse response;
    response.headers = {{"Content-Type", "text/plain"}, {"Content-Length", "999"}, {"Connection", "keep-alive"}};
    response.body = "hello";
    const auto bytes = serialize_response(response, {false, true, false, "Sun, 06 Nov 1994 08:49:37 GMT"});
    ASSERT_TRUE(bytes) << bytes.error();
    EXPECT_EQ(*bytes,
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
              "Content-Length: 5\r\n"
              "\r\n"
              "hello");
}

TEST(HttpMessage, ClosingAndHttp10Framing) {
    HttpResponse response;
    response.body = "x";
    auto closing = serialize_response(response, {false, false, false, "D"});
    ASSERT_TRUE(closing);
    EXPECT_NE(closing->find("Connection: close\r\n"), std::string::npos);
    auto http10 = serialize_response(response, {false, true, true, "D"});
    ASSERT_TRUE(http10);
    EXPECT_NE(http10->find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(HttpMessage, HeadKeepsLengthDropsBody) {
    HttpResponse response;
    response.body = "0123456789";
    const auto bytes = serialize_response(response, {true, true, false, "D"});
    ASSERT_TRUE(bytes);
    EXPECT_NE(bytes->find("Content-Length: 10\r\n"), std::string::npos);
    EXPECT_EQ(bytes->substr(bytes->size() - 4), "\r\n\r\n");
}

TEST(HttpMessage, NoContentAndNotModifiedHaveNoLengthNorBody) {
    for (int status : {204, 304}) {
        HttpResponse response;
        response.status = status;
        response.body = "ignored";
        const auto bytes = serialize_response(response, {false, true, false, "D"});
        ASSERT_TRUE(bytes);
        EXPECT_EQ(bytes->find("Content-Length"), std::string::npos);
        EXPECT_EQ(bytes->substr(bytes->size() - 4), "\r\n\r\n");
    }
}

TEST(HttpMessage, HandlerDateIsKept) {
    HttpResponse response;
    response.headers = {{"date", "Mon, 07 Nov 1994 00:00:00 GMT"}};
    const auto bytes = serialize_response(response, {false, true, false, "OURS"});
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->find("OURS"), std::string::npos);
    EXPECT_NE(bytes->find("date: Mon, 07 Nov 1994"), std::string::npos);
}

TEST(HttpMessage, RefusesResponseSplitting) {
    HttpResponse response;
    response.headers = {{"Location", "/ok\r\nSet-Cookie: evil=1"}};
    EXPECT_FALSE(serialize_response(response, {false, true, false, "D"}));
    response.headers = {{"Location", "/ok\nx"}};
    EXPECT_FALSE(serialize_response(response, {false, true, false, "D"}));
    response.headers = {{"Bad\r\nName", "v"}};
    EXPECT_FALSE(serialize_response(response, {false, true, false, "D"}));
    response.headers = {{"", "v"}};
    EXPECT_FALSE(serialize_response(response, {false, true, false, "D"}));
}

TEST(HttpMessage, RefusesNonFinalStatus) {
    HttpResponse response;
    for (int status : {0, 100, 101, 199, 600, -1}) {
        response.status = status;
        EXPECT_FALSE(serialize_response(response, {false, true, false, "D"})) << status;
    }
}

TEST(HttpMessage, ResponseRequestsClose) {
    HttpResponse response;
    EXPECT_FALSE(response_requests_close(response));
    response.headers = {{"connection", "Close"}};
    EXPECT_TRUE(response_requests_close(response));
}

TEST(HttpMessage, ErrorResponse) {
    const HttpResponse response = http_error_response(414);
    EXPECT_EQ(response.status, 414);
    EXPECT_EQ(response.body, "414 URI Too Long\n");
}

// A prepared response gives the very bytes the plain one gives, for every framing.
TEST(HttpMessage, APreparedResponseSerializesAsThePlainOne) {
    std::vector<HttpResponse> responses(4);
    responses[0].status = 404;
    responses[0].headers = {{"Content-Type", "text/html"}, {"Content-Length", "1"}, {"X-A", "b"}};
    responses[0].body = std::string("page\0body", 9);
    responses[1].headers = {{"Date", "Mon, 07 Nov 1994 00:00:00 GMT"}, {"Connection", "close"}};
    responses[2].status = 304;
    responses[2].body = "ignored";
    responses[3].status = 503;
    for (const HttpResponse& plain : responses) {
        auto prepared = prepare_response(plain);
        ASSERT_TRUE(prepared) << prepared.error();
        HttpResponse fast;
        fast.status = 200;  // ignored: the prepared status is sent
        fast.body = "ignored too";
        fast.prepared = *prepared;
        EXPECT_EQ(response_requests_close(fast), response_requests_close(plain));
        for (const bool head : {false, true}) {
            for (const bool keep_alive : {false, true}) {
                for (const bool http10 : {false, true}) {
                    const ResponseFraming framing{head, keep_alive, http10, "Sun, 06 Nov 1994 08:49:37 GMT"};
                    const auto want = serialize_response(plain, framing);
                    const auto got = serialize_response(fast, framing);
                    ASSERT_TRUE(want && got);
                    EXPECT_EQ(*got, *want) << plain.status << " head " << head << " keep-alive " << keep_alive;
                }
            }
        }
    }
    EXPECT_TRUE(response_requests_close(HttpResponse{200, {}, {}, *prepare_response(responses[1])}));
}

// The bytes themselves (serialize_response goes through the same layout, so
// the comparison above alone would not see a mistake both share).
TEST(HttpMessage, APreparedPageGoesOutWithItsFraming) {
    HttpResponse page;
    page.status = 404;
    page.headers = {{"Content-Type", "text/html"}, {"Connection", "keep-alive"}};
    page.body = "<p>x</p>";
    HttpResponse fast;
    fast.prepared = *prepare_response(page);
    EXPECT_EQ(*serialize_response(fast, {false, true, false, "D1"}),
              "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nDate: D1\r\nContent-Length: 8\r\n\r\n<p>x</p>");
    EXPECT_EQ(*serialize_response(fast, {true, false, false, "D2"}),
              "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nDate: D2\r\nContent-Length: 8\r\n"
              "Connection: close\r\n\r\n");
    page.headers.emplace_back("Date", "theirs");
    fast.prepared = *prepare_response(page);
    EXPECT_EQ(*serialize_response(fast, {false, true, true, "ours"}),
              "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nDate: theirs\r\nContent-Length: 8\r\n"
              "Connection: keep-alive\r\n\r\n<p>x</p>");
}

TEST(HttpMessage, PreparingRefusesWhatSerializingRefuses) {
    HttpResponse response;
    response.headers = {{"Location", "/ok\r\nSet-Cookie: evil=1"}};
    EXPECT_FALSE(prepare_response(response));
    response.headers = {{"Bad Name", "v"}};
    EXPECT_FALSE(prepare_response(response));
    response.headers.clear();
    response.status = 101;
    EXPECT_FALSE(prepare_response(response));
}

}  // namespace
}  // namespace tokend
