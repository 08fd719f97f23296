// The HTTP client against real servers on 127.0.0.1 (port 0) that run on a
// thread of their own (tests/support): a scripted HTTP/1.1 server written with
// plain POSIX sockets, and a small OpenSSL server for the TLS verification tests.
// No tokend server code is used, so a bug there cannot hide one here.
#include "io/http_client.h"

#include "io/http_client_transfer.h"
#include "scripted_http_server.h"
#include "tls_test_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tokend {
namespace {

using namespace std::chrono_literals;
using test::answer;
using test::bound_socket;
using test::Headers;
using test::http_response;
using test::ScriptedHttpServer;
using test::TestCertificate;
using test::TlsTestServer;

HttpClientRequest get(std::string url) {
    HttpClientRequest request;
    request.url = std::move(url);
    return request;
}

class HttpClientTest : public testing::Test {
protected:
    // As the daemon does: with CURLOPT_NOSIGNAL curl leaves SIGPIPE to the
    // application, and the test servers write to sockets clients may close.
    static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
    void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
    void TearDown() override { EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle leaked"; }

    // Hermetic: no proxy from the environment.
    static HttpClientOptions options() {
        HttpClientOptions options;
        options.proxy = "";
        return options;
    }

    // Runs the loop until it has nothing left to do. A watchdog (which does
    // not keep the loop alive) closes the client if a test hangs.
    void run(HttpClient& client, std::chrono::milliseconds limit = 20s) {
        uv_timer_t watchdog{};
        uv_timer_init(&loop_, &watchdog);
        watchdog.data = &client;
        uv_timer_start(
            &watchdog,
            [](uv_timer_t* timer) {
                ADD_FAILURE() << "watchdog: the test did not finish in time";
                static_cast<HttpClient*>(timer->data)->close(nullptr);
            },
            static_cast<uint64_t>(limit.count()), 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog));
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
    }

    // Sends every request at once, closes the client when all are done, runs
    // the loop; the responses in request order. Checks each done runs once,
    // on this thread, and never inside send().
    std::vector<HttpClientResponse> fetch_all(std::vector<HttpClientRequest> requests,
                                              HttpClientOptions client_options = options()) {
        HttpClient client(&loop_, client_options);
        std::vector<HttpClientResponse> responses(requests.size());
        std::vector<int> calls(requests.size(), 0);
        size_t remaining = requests.size();
        bool closed = false;
        bool sending = true;
        const auto loop_thread = std::this_thread::get_id();
        for (size_t i = 0; i < requests.size(); ++i) {
            client.send(std::move(requests[i]), [&, i](HttpClientResponse response) {
                EXPECT_FALSE(sending) << "done ran inside send()";
                EXPECT_EQ(std::this_thread::get_id(), loop_thread);
                ++calls[i];
                responses[i] = std::move(response);
                if (--remaining == 0) client.close([&] { closed = true; });
            });
        }
        sending = false;
        if (remaining == 0) client.close([&] { closed = true; });
        run(client);
        EXPECT_TRUE(closed);
        for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i], 1) << "request " << i;
        EXPECT_EQ(client.in_flight(), 0u);
        return responses;
    }

    HttpClientResponse fetch(HttpClientRequest request, HttpClientOptions client_options = options()) {
        std::vector<HttpClientRequest> one;
        one.push_back(std::move(request));
        return fetch_all(std::move(one), std::move(client_options)).at(0);
    }

    // Calls `check` every few milliseconds on the loop until it returns true
    // (then runs `then`) or `limit` passes (then fails).
    struct Poller {
        uv_timer_t timer{};
        std::function<bool()> check;
        std::function<void()> then;
        std::chrono::steady_clock::time_point deadline;
    };
    void when(Poller& poller, std::function<bool()> check, std::function<void()> then,
              std::chrono::milliseconds limit = 10s) {
        poller.check = std::move(check);
        poller.then = std::move(then);
        poller.deadline = std::chrono::steady_clock::now() + limit;
        uv_timer_init(&loop_, &poller.timer);
        poller.timer.data = &poller;
        uv_timer_start(
            &poller.timer,
            [](uv_timer_t* timer) {
                auto* self = static_cast<Poller*>(timer->data);
                const bool ready = self->check();
                if (!ready && std::chrono::steady_clock::now() < self->deadline) return;
                if (!ready) ADD_FAILURE() << "condition not reached in time";
                uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
                self->then();
            },
            5, 5);
    }

    uv_loop_t loop_{};
};

void expect_failure(const HttpClientResponse& response) {
    EXPECT_EQ(response.status, 0);
    EXPECT_FALSE(response.error.empty());
    EXPECT_TRUE(response.body.empty());
    EXPECT_TRUE(response.headers.empty());
    EXPECT_FALSE(response.cancelled);
}

// --- round trips ---

TEST_F(HttpClientTest, GetRoundTrip) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return answer(200, "hello", {{"X-Reply", "  yes  "}, {"Set-Thing", "one"}, {"set-thing", "two"}});
    });
    HttpClientRequest request = get(server.url("/path/to?x=1&y=two"));
    request.headers = {{"Authorization", "Bearer abc.def"}, {"X-Custom", "value with spaces"}, {"X-Empty", ""}};
    const HttpClientResponse response = fetch(std::move(request));

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "hello");
    EXPECT_TRUE(response.error.empty());
    EXPECT_FALSE(response.timed_out);
    ASSERT_NE(response.header("x-reply"), nullptr);
    EXPECT_EQ(*response.header("X-REPLY"), "yes");
    ASSERT_NE(response.header("Set-Thing"), nullptr);
    EXPECT_EQ(*response.header("Set-Thing"), "one");  // the first of two
    EXPECT_EQ(response.header("Missing"), nullptr);
    ASSERT_NE(response.header("Content-Length"), nullptr);
    EXPECT_EQ(*response.header("Content-Length"), "5");

    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].target, "/path/to?x=1&y=two");
    ASSERT_NE(seen[0].header("Authorization"), nullptr);
    EXPECT_EQ(*seen[0].header("Authorization"), "Bearer abc.def");
    ASSERT_NE(seen[0].header("X-Custom"), nullptr);
    EXPECT_EQ(*seen[0].header("X-Custom"), "value with spaces");
    ASSERT_NE(seen[0].header("X-Empty"), nullptr);
    EXPECT_EQ(*seen[0].header("X-Empty"), "");
    ASSERT_NE(seen[0].header("User-Agent"), nullptr);
    EXPECT_EQ(*seen[0].header("User-Agent"), "tokend/0.1");
    ASSERT_NE(seen[0].header("Host"), nullptr);
    EXPECT_EQ(*seen[0].header("Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(seen[0].header("Accept-Encoding"), nullptr);  // responses are never decompressed
    EXPECT_TRUE(seen[0].body.empty());
}

TEST_F(HttpClientTest, PostRoundTrip) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) { return answer(200, "got " + request.body); });
    HttpClientRequest request;
    request.method = "POST";
    request.url = server.url("/token");
    request.body = "grant_type=authorization_code&code=abc%20d&redirect_uri=https%3A%2F%2Fx";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    const HttpClientResponse response = fetch(request);

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "got " + request.body);
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].target, "/token");
    EXPECT_EQ(seen[0].body, request.body);
    EXPECT_EQ(*seen[0].header("Content-Length"), std::to_string(request.body.size()));
    EXPECT_EQ(*seen[0].header("Content-Type"), "application/x-www-form-urlencoded");
    ASSERT_NE(seen[0].header("Accept"), nullptr);
    EXPECT_EQ(*seen[0].header("Accept"), "application/json");  // replaces curl's */*
    EXPECT_EQ(seen[0].header("Expect"), nullptr);
}

TEST_F(HttpClientTest, LargeBinaryPostBodyArrivesIntactWithoutExpect) {
    ScriptedHttpServer server(
        [](const ScriptedHttpServer::Request& request) { return answer(200, std::to_string(request.body.size())); });
    std::string body(3 * 1024 * 1024 + 7, '\0');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131) % 256);
    HttpClientRequest request;
    request.method = "POST";
    request.url = server.url("/upload");
    request.body = body;
    request.headers = {{"Content-Type", "application/octet-stream"}};
    const HttpClientResponse response = fetch(request);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, std::to_string(body.size()));
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].body == body);
    EXPECT_EQ(seen[0].header("Expect"), nullptr);
}

TEST_F(HttpClientTest, EmptyPostSendsContentLengthZero) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(204, ""); });
    HttpClientRequest request;
    request.method = "POST";
    request.url = server.url("/revoke");
    const HttpClientResponse response = fetch(request);
    EXPECT_EQ(response.status, 204);
    EXPECT_TRUE(response.body.empty());
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    ASSERT_NE(seen[0].header("Content-Length"), nullptr);
    EXPECT_EQ(*seen[0].header("Content-Length"), "0");
}

TEST_F(HttpClientTest, OtherMethods) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        return answer(200, request.method == "HEAD" ? "" : request.method + ":" + request.body);
    });
    std::vector<HttpClientRequest> requests;
    for (const char* method : {"PUT", "DELETE", "PATCH", "HEAD"}) {
        HttpClientRequest request;
        request.method = method;
        request.url = server.url("/thing");
        if (std::string_view(method) == "PUT" || std::string_view(method) == "PATCH") request.body = "{\"a\":1}";
        requests.push_back(request);
    }
    const auto responses = fetch_all(requests);
    EXPECT_EQ(responses[0].body, "PUT:{\"a\":1}");
    EXPECT_EQ(responses[1].body, "DELETE:");
    EXPECT_EQ(responses[2].body, "PATCH:{\"a\":1}");
    EXPECT_EQ(responses[3].status, 200);
    EXPECT_TRUE(responses[3].body.empty());
    std::map<std::string, std::string> bodies;
    for (const auto& seen : server.requests()) bodies[seen.method] = seen.body;
    EXPECT_EQ(bodies.size(), 4u);
    EXPECT_EQ(bodies["PUT"], "{\"a\":1}");
    EXPECT_EQ(bodies["DELETE"], "");
}

TEST_F(HttpClientTest, HeadIgnoresTheAdvertisedLength) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n"};
    });
    HttpClientRequest request = get(server.url("/big"));
    request.method = "HEAD";
    request.max_response_bytes = 1000;
    const HttpClientResponse response = fetch(request);
    EXPECT_EQ(response.status, 200) << response.error;
    EXPECT_TRUE(response.body.empty());
    EXPECT_EQ(*response.header("Content-Length"), "5000000");
}

TEST_F(HttpClientTest, FoldedResponseHeaderIsJoined) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{
            "HTTP/1.1 200 OK\r\nX-Folded: first\r\n   second\r\nX-Next: n\r\n"
            "Content-Length: 2\r\n\r\nok"};
    });
    const HttpClientResponse response = fetch(get(server.url("/")));
    EXPECT_EQ(response.status, 200) << response.error;
    ASSERT_NE(response.header("X-Folded"), nullptr);
    EXPECT_EQ(*response.header("X-Folded"), "first second");
    EXPECT_EQ(*response.header("X-Next"), "n");
}

TEST_F(HttpClientTest, StatusCodesArePassedThrough) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        const int status = std::stoi(request.target.substr(1));
        Headers headers;
        if (status == 429) headers.emplace_back("Retry-After", "7");
        return answer(status, "status " + std::to_string(status), headers);
    });
    const auto responses = fetch_all({get(server.url("/200")), get(server.url("/400")), get(server.url("/404")),
                                      get(server.url("/429")), get(server.url("/500"))});
    const int expected[] = {200, 400, 404, 429, 500};
    for (size_t i = 0; i < responses.size(); ++i) {
        EXPECT_EQ(responses[i].status, expected[i]);
        EXPECT_EQ(responses[i].body, "status " + std::to_string(expected[i]));
        EXPECT_TRUE(responses[i].error.empty()) << responses[i].error;
    }
    ASSERT_NE(responses[3].header("retry-after"), nullptr);
    EXPECT_EQ(*responses[3].header("retry-after"), "7");

    // What the retry policy makes of them.
    const Timestamp now{std::chrono::seconds(1'800'000'000)};
    const RetryPolicy policy;
    EXPECT_FALSE(decide_retry(policy, 1, attempt_outcome(responses[0]), 0.5, now).retry);
    EXPECT_FALSE(decide_retry(policy, 1, attempt_outcome(responses[1]), 0.5, now).retry);
    const RetryDecision after_429 = decide_retry(policy, 1, attempt_outcome(responses[3]), 0.5, now);
    EXPECT_TRUE(after_429.retry);
    EXPECT_TRUE(after_429.from_retry_after);
    EXPECT_EQ(after_429.delay, 7s);
    EXPECT_TRUE(decide_retry(policy, 1, attempt_outcome(responses[4]), 0.5, now).retry);
}

TEST_F(HttpClientTest, ChunkedResponseIsDecoded) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
            "5\r\n{\"a\":\r\n3\r\n1}\n\r\n0\r\n\r\n"};
    });
    const HttpClientResponse response = fetch(get(server.url("/chunked")));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "{\"a\":1}\n");
    EXPECT_EQ(*response.header("Content-Type"), "application/json");
}

TEST_F(HttpClientTest, InterimResponsesAreDropped) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" +
                                 http_response(201, "made", {{"X-Final", "1"}})};
    });
    const HttpClientResponse response = fetch(get(server.url("/")));
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "made");
    EXPECT_EQ(response.header("X-Interim"), nullptr);
    EXPECT_NE(response.header("X-Final"), nullptr);
}

TEST_F(HttpClientTest, RedirectsAreNotFollowed) {
    ScriptedHttpServer server([&](const ScriptedHttpServer::Request& request) {
        if (request.target == "/start") return answer(302, "moved", {{"Location", "/elsewhere"}});
        return answer(200, "followed!");
    });
    const HttpClientResponse response = fetch(get(server.url("/start")));
    EXPECT_EQ(response.status, 302);
    EXPECT_EQ(response.body, "moved");
    ASSERT_NE(response.header("Location"), nullptr);
    EXPECT_EQ(*response.header("Location"), "/elsewhere");
    EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(HttpClientTest, HostNameGoesThroughTheResolver) {
    // 127.0.0.1 and "localhost" never reach curl's resolver thread; the
    // machine's own name usually does (through /etc/hosts).
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(name, nullptr, &hints, &found) != 0 || !found) GTEST_SKIP() << "host name does not resolve";
    const bool loopback = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    freeaddrinfo(found);
    if (!loopback) GTEST_SKIP() << "host name is not 127.0.0.1";
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(200, "resolved"); });
    const HttpClientResponse response =
        fetch(get("http://" + std::string(name) + ":" + std::to_string(server.port()) + "/"));
    EXPECT_EQ(response.status, 200) << response.error;
    EXPECT_EQ(response.body, "resolved");
}

TEST_F(HttpClientTest, ProxyOption) {
    ScriptedHttpServer proxy([](const ScriptedHttpServer::Request& request) { return answer(200, "via proxy " + request.target); });
    ScriptedHttpServer origin([](const ScriptedHttpServer::Request&) { return answer(200, "direct"); });
    const std::string target = origin.url("/x");
    ::setenv("http_proxy", proxy.url("").c_str(), 1);
    HttpClientOptions from_environment = options();
    from_environment.proxy.reset();
    const HttpClientResponse through_environment = fetch(get(target), from_environment);
    const HttpClientResponse without = fetch(get(target), options());  // "" ignores the environment
    ::unsetenv("http_proxy");
    HttpClientOptions explicit_proxy = options();
    explicit_proxy.proxy = proxy.url("");
    const HttpClientResponse through_option = fetch(get(target), explicit_proxy);
    EXPECT_EQ(through_environment.body, "via proxy " + target);
    EXPECT_EQ(without.body, "direct");
    EXPECT_EQ(through_option.body, "via proxy " + target);
}

// --- connections ---

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) { return answer(200, request.target); });
    HttpClient client(&loop_, options());
    std::vector<HttpClientResponse> responses;
    std::function<void(int)> next = [&](int i) {
        client.send(get(server.url("/n" + std::to_string(i))), [&, i](HttpClientResponse response) {
            responses.push_back(std::move(response));
            if (i < 5) {
                next(i + 1);
            } else {
                client.close(nullptr);
            }
        });
    };
    next(1);
    run(client);
    ASSERT_EQ(responses.size(), 5u);
    for (size_t i = 0; i < responses.size(); ++i) {
        EXPECT_EQ(responses[i].status, 200) << responses[i].error;
        EXPECT_EQ(responses[i].body, "/n" + std::to_string(i + 1));
    }
    EXPECT_EQ(server.connections_accepted(), 1);
    for (const auto& seen : server.requests()) EXPECT_EQ(seen.connection, 1);
}

class ServerClosingTest : public HttpClientTest, public testing::WithParamInterface<bool> {};

// The server closes the connection after every response: saying so
// ("Connection: close") or silently, in which case curl only finds out when it
// tries to reuse the connection (and retries on a fresh one).
TEST_P(ServerClosingTest, EveryRequestGetsAFreshConnection) {
    const bool announced = GetParam();
    ScriptedHttpServer server([&](const ScriptedHttpServer::Request& request) {
        Headers headers;
        if (announced) headers.emplace_back("Connection", "close");
        ScriptedHttpServer::Reply reply = answer(200, request.target, headers);
        reply.close_after = true;
        return reply;
    });
    HttpClient client(&loop_, options());
    std::vector<HttpClientResponse> responses;
    std::function<void(int)> next = [&](int i) {
        client.send(get(server.url("/n" + std::to_string(i))), [&, i](HttpClientResponse response) {
            responses.push_back(std::move(response));
            if (i < 6) {
                next(i + 1);
            } else {
                client.close(nullptr);
            }
        });
    };
    next(1);
    run(client);
    ASSERT_EQ(responses.size(), 6u);
    for (size_t i = 0; i < responses.size(); ++i) {
        EXPECT_EQ(responses[i].status, 200) << responses[i].error;
        EXPECT_EQ(responses[i].body, "/n" + std::to_string(i + 1));
    }
    EXPECT_EQ(server.request_count(), 6u);
    EXPECT_EQ(server.connections_accepted(), 6);
}

INSTANTIATE_TEST_SUITE_P(Announced, ServerClosingTest, testing::Values(true, false),
                         [](const auto& info) { return info.param ? "ConnectionClose" : "Silently"; });

TEST_F(HttpClientTest, ManyConcurrentRequestsAllComplete) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) { return answer(200, "body of " + request.target); });
    std::vector<HttpClientRequest> requests;
    for (int i = 0; i < 200; ++i) requests.push_back(get(server.url("/item/" + std::to_string(i))));
    HttpClientOptions client_options = options();
    client_options.max_per_host = 8;
    const auto responses = fetch_all(requests, client_options);
    ASSERT_EQ(responses.size(), 200u);
    for (int i = 0; i < 200; ++i) {
        EXPECT_EQ(responses[size_t(i)].status, 200) << responses[size_t(i)].error;
        EXPECT_EQ(responses[size_t(i)].body, "body of /item/" + std::to_string(i));
    }
    EXPECT_EQ(server.request_count(), 200u);
    EXPECT_LE(server.most_connections_open(), 8);
    EXPECT_LE(server.connections_accepted(), 16);  // reused, not one per request
}

TEST_F(HttpClientTest, ManyConcurrentRequestsOverClosingConnections) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        ScriptedHttpServer::Reply reply = answer(200, request.target);
        reply.close_after = true;  // silently: curl must notice on reuse
        return reply;
    });
    std::vector<HttpClientRequest> requests;
    for (int i = 0; i < 100; ++i) requests.push_back(get(server.url("/c/" + std::to_string(i))));
    const auto responses = fetch_all(requests);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(responses[size_t(i)].status, 200) << responses[size_t(i)].error;
        EXPECT_EQ(responses[size_t(i)].body, "/c/" + std::to_string(i));
    }
}

TEST_F(HttpClientTest, LimitsHoldRequestsBackPerHostAndInTotal) {
    auto hang = [](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", false, true}; };
    ScriptedHttpServer first(hang);
    ScriptedHttpServer second(hang);
    HttpClientOptions client_options = options();
    client_options.max_concurrent = 5;
    client_options.max_per_host = 3;
    HttpClient client(&loop_, client_options);
    int cancelled = 0;
    for (int i = 0; i < 10; ++i) {
        client.send(get(first.url("/a")), [&](HttpClientResponse response) { cancelled += response.cancelled; });
        client.send(get(second.url("/b")), [&](HttpClientResponse response) { cancelled += response.cancelled; });
    }
    EXPECT_EQ(client.in_flight(), 20u);
    EXPECT_EQ(client.running(), 5u);
    Poller poller;
    size_t seen_first = 0;
    size_t seen_second = 0;
    auto settled_at = std::chrono::steady_clock::time_point::max();
    when(
        poller,
        [&] {
            // Once five requests arrived, wait a little to see no sixth comes.
            if (first.request_count() + second.request_count() < 5) return false;
            const auto now = std::chrono::steady_clock::now();
            if (settled_at == std::chrono::steady_clock::time_point::max()) settled_at = now;
            return now - settled_at > 150ms;
        },
        [&] {
            seen_first = first.request_count();
            seen_second = second.request_count();
            EXPECT_EQ(client.running(), 5u);
            EXPECT_EQ(client.in_flight(), 20u);
            client.close(nullptr);
        });
    run(client);
    EXPECT_EQ(seen_first + seen_second, 5u);
    EXPECT_LE(seen_first, 3u);
    EXPECT_LE(seen_second, 3u);
    EXPECT_EQ(cancelled, 20);
}

// --- failures ---

TEST_F(HttpClientTest, ServerThatNeverAnswersTimesOut) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", false, true}; });
    HttpClientRequest request = get(server.url("/slow?code=SECRETCODE123"));
    request.timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    const HttpClientResponse response = fetch(request);
    const auto took = std::chrono::steady_clock::now() - started;
    expect_failure(response);
    EXPECT_TRUE(response.timed_out);
    EXPECT_TRUE(is_retryable(attempt_outcome(response)));
    EXPECT_EQ(response.error.rfind("127.0.0.1: ", 0), 0u) << response.error;
    EXPECT_EQ(response.error.find("SECRETCODE"), std::string::npos) << response.error;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
    EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(HttpClientTest, ServerThatStopsMidBodyTimesOut) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", false, true};
    });
    HttpClientRequest request = get(server.url("/"));
    request.timeout = 300ms;
    const HttpClientResponse response = fetch(request);
    expect_failure(response);
    EXPECT_TRUE(response.timed_out);
}

TEST_F(HttpClientTest, ConnectionClosedMidBodyIsAnError) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        return ScriptedHttpServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", true, false};
    });
    const HttpClientResponse response = fetch(get(server.url("/")));
    expect_failure(response);
    EXPECT_FALSE(response.timed_out);
}

TEST_F(HttpClientTest, ConnectionRefused) {
    uint16_t port = 0;
    const int fd = bound_socket(port);  // bound, never listening: connecting is refused
    ASSERT_GE(fd, 0);
    HttpClientRequest request = get("http://127.0.0.1:" + std::to_string(port) + "/token?client_secret=SECRET456xyz");
    request.headers = {{"Authorization", "Basic SECRETBASIC789"}};
    const HttpClientResponse response = fetch(request);
    ::close(fd);
    expect_failure(response);
    EXPECT_FALSE(response.timed_out);
    EXPECT_EQ(response.error.rfind("127.0.0.1: ", 0), 0u) << response.error;
    EXPECT_EQ(response.error.find("SECRET"), std::string::npos) << response.error;
    EXPECT_EQ(response.error.find("token"), std::string::npos) << response.error;
}

TEST_F(HttpClientTest, ConnectTimeout) {
    // A listener with a full accept queue drops new SYNs, so connecting hangs.
    uint16_t port = 0;
    const int listener = bound_socket(port);
    ASSERT_GE(listener, 0);
    ASSERT_EQ(listen(listener, 0), 0);
    std::vector<int> fillers;
    for (int i = 0; i < 8; ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        fillers.push_back(fd);
    }
    // Once the first handshake is done the queue is full; later SYNs are dropped.
    pollfd first{fillers[0], POLLOUT, 0};
    ASSERT_EQ(poll(&first, 1, 2000), 1);
    HttpClientRequest request = get("http://127.0.0.1:" + std::to_string(port) + "/");
    request.connect_timeout = 200ms;
    request.timeout = 5s;
    const auto started = std::chrono::steady_clock::now();
    const HttpClientResponse response = fetch(request);
    const auto took = std::chrono::steady_clock::now() - started;
    for (int fd : fillers) ::close(fd);
    ::close(listener);
    if (response.status == 0 && !response.timed_out)
        GTEST_SKIP() << "this network stack does not drop SYNs: " << response.error;
    expect_failure(response);
    EXPECT_TRUE(response.timed_out);
    EXPECT_LT(took, 3s);
}

TEST_F(HttpClientTest, ResponseLargerThanTheCapIsAnError) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        if (request.target == "/sized") return answer(200, std::string(2000, 'x'));  // Content-Length says too much
        if (request.target == "/exact") return answer(200, std::string(1000, 'x'));
        if (request.target == "/huge") return answer(200, std::string(5 * 1024 * 1024, 'x'));
        // Neither length nor chunks: the body runs until the server closes.
        return ScriptedHttpServer::Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(2000, 'y'), true, false};
    });
    std::vector<HttpClientRequest> requests;
    for (const char* path : {"/sized", "/exact", "/unsized", "/huge"}) {
        HttpClientRequest request = get(server.url(path));
        request.max_response_bytes = std::string_view(path) == "/huge" ? 1 << 20 : 1000;
        requests.push_back(request);
    }
    const auto responses = fetch_all(requests);
    expect_failure(responses[0]);
    EXPECT_NE(responses[0].error.find("larger than 1000 bytes"), std::string::npos) << responses[0].error;
    EXPECT_EQ(responses[1].status, 200);
    EXPECT_EQ(responses[1].body.size(), 1000u);
    expect_failure(responses[2]);
    EXPECT_NE(responses[2].error.find("larger than 1000 bytes"), std::string::npos) << responses[2].error;
    expect_failure(responses[3]);
    EXPECT_NE(responses[3].error.find("larger than 1048576 bytes"), std::string::npos) << responses[3].error;
}

TEST_F(HttpClientTest, HugeResponseHeadersAreAnError) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) {
        Headers headers;
        for (int i = 0; i < 100; ++i) headers.emplace_back("X-Filler-" + std::to_string(i), std::string(1000, 'h'));
        return answer(200, "ok", headers);
    });
    const HttpClientResponse response = fetch(get(server.url("/")));
    expect_failure(response);
    EXPECT_NE(response.error.find("headers larger than"), std::string::npos) << response.error;
}

TEST_F(HttpClientTest, GarbageInsteadOfHttpIsAnError) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        if (request.target == "/words") return ScriptedHttpServer::Reply{"this is not HTTP at all\r\n\r\n", true, false};
        if (request.target == "/status") return ScriptedHttpServer::Reply{"HTTP/1.1 abc nope\r\n\r\n", true, false};
        return ScriptedHttpServer::Reply{std::string("\x00\x01\x02\xff\xfe garbage", 13), true, false};
    });
    const auto responses =
        fetch_all({get(server.url("/words")), get(server.url("/status")), get(server.url("/binary"))});
    for (const auto& response : responses) {
        expect_failure(response);
        EXPECT_FALSE(response.timed_out);
        EXPECT_EQ(response.error.rfind("127.0.0.1: ", 0), 0u) << response.error;
    }
}

TEST_F(HttpClientTest, EmptyReplyIsAnError) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", true, false}; });
    expect_failure(fetch(get(server.url("/"))));
}

TEST_F(HttpClientTest, HttpsToAPlainHttpPortFails) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(200, "plain"); });
    HttpClientRequest request = get("https://127.0.0.1:" + std::to_string(server.port()) + "/x?token=SECRETTLS000");
    request.timeout = 5s;
    const HttpClientResponse response = fetch(request);
    expect_failure(response);
    EXPECT_FALSE(response.timed_out);
    EXPECT_EQ(response.error.rfind("127.0.0.1: ", 0), 0u) << response.error;
    EXPECT_EQ(response.error.find("SECRETTLS"), std::string::npos) << response.error;
}

TEST_F(HttpClientTest, RequestsRefusedUpFront) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(200, "should not be reached"); });
    std::vector<HttpClientRequest> requests;
    requests.push_back(get("not a url"));
    requests.push_back(get("ftp://127.0.0.1:" + std::to_string(server.port()) + "/file"));
    requests.push_back(get("file:///etc/passwd"));
    requests.push_back(get("gopher://127.0.0.1/"));
    requests.push_back(get("http://"));
    HttpClientRequest injected_value = get(server.url("/"));
    injected_value.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
    requests.push_back(injected_value);
    HttpClientRequest injected_name = get(server.url("/"));
    injected_name.headers = {{"X-Evil: 1\r\nX", "a"}};
    requests.push_back(injected_name);
    HttpClientRequest empty_name = get(server.url("/"));
    empty_name.headers = {{"", "a"}};
    requests.push_back(empty_name);
    HttpClientRequest framing = get(server.url("/"));
    framing.headers = {{"content-length", "0"}};
    requests.push_back(framing);
    HttpClientRequest chunked = get(server.url("/"));
    chunked.headers = {{"Transfer-Encoding", "chunked"}};
    requests.push_back(chunked);
    HttpClientRequest bad_method = get(server.url("/"));
    bad_method.method = "GET / HTTP/1.1\r\nX:";
    requests.push_back(bad_method);
    HttpClientRequest no_method = get(server.url("/"));
    no_method.method = "";
    requests.push_back(no_method);
    const auto responses = fetch_all(requests);
    for (size_t i = 0; i < responses.size(); ++i) {
        SCOPED_TRACE(i);
        expect_failure(responses[i]);
        EXPECT_EQ(responses[i].error.find("passwd"), std::string::npos);
    }
    EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpClientTest, UserInfoStaysOutOfErrors) {
    uint16_t port = 0;
    const int fd = bound_socket(port);
    ASSERT_GE(fd, 0);
    const HttpClientResponse response =
        fetch(get("http://someone:PASSWORD123@127.0.0.1:" + std::to_string(port) + "/"));
    ::close(fd);
    expect_failure(response);
    EXPECT_EQ(response.error.find("PASSWORD123"), std::string::npos) << response.error;
    EXPECT_EQ(response.error.find("someone"), std::string::npos) << response.error;
}

// --- error texts (pure helpers) ---

TEST(HttpClientErrorTextTest, SecretsOfAUrl) {
    const auto secrets = url_secrets("https://user:pa55word@example.com:8443/oauth/callback?code=abcdefgh1234&x=1#frag",
                                     "http://proxyuser:proxypass@proxy:3128");
    auto has = [&](std::string_view piece) {
        return std::find(secrets.begin(), secrets.end(), piece) != secrets.end();
    };
    EXPECT_TRUE(has("user:pa55word"));
    EXPECT_TRUE(has("/oauth/callback?code=abcdefgh1234&x=1#frag"));
    EXPECT_TRUE(has("callback"));
    EXPECT_TRUE(has("abcdefgh1234"));
    EXPECT_TRUE(has("http://proxyuser:proxypass@proxy:3128"));
    EXPECT_TRUE(has("proxyuser:proxypass"));
    EXPECT_FALSE(has("example.com"));
    EXPECT_FALSE(has("x"));  // too short to mean anything
    const auto bare = url_secrets("http://example.com/", "");
    EXPECT_EQ(bare.size(), 1u);  // the URL itself; "/" is no secret
}

TEST(HttpClientErrorTextTest, DetailIsKeptUnlessItQuotesASecret) {
    const std::vector<std::string_view> secrets = url_secrets("http://h/token?code=SECRETCODE", "");
    EXPECT_EQ(describe_transfer_error("h", CURLE_COULDNT_CONNECT, "Failed to connect to h port 80: refused\n", secrets),
              "h: Failed to connect to h port 80: refused");
    EXPECT_EQ(describe_transfer_error("h", CURLE_URL_MALFORMAT, "bad thing near code=SECRETCODE", secrets),
              std::string("h: ") + curl_easy_strerror(CURLE_URL_MALFORMAT));
    EXPECT_EQ(describe_transfer_error("h", CURLE_OPERATION_TIMEDOUT, "", secrets),
              std::string("h: ") + curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
}

// --- close ---

TEST_F(HttpClientTest, CloseCancelsEverythingInFlightOnce) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", false, true}; });
    HttpClientOptions client_options = options();
    client_options.max_per_host = 4;
    HttpClient client(&loop_, client_options);
    std::vector<int> calls(20, 0);
    int dones = 0;
    bool closed = false;
    bool closed_after_every_done = false;
    for (int i = 0; i < 20; ++i) {
        client.send(get(server.url("/hang")), [&, i](HttpClientResponse response) {
            ++calls[size_t(i)];
            ++dones;
            EXPECT_FALSE(closed);
            EXPECT_TRUE(response.cancelled);
            EXPECT_EQ(response.error, "cancelled");
            EXPECT_EQ(response.status, 0);
            EXPECT_FALSE(is_retryable(attempt_outcome(response)));
        });
    }
    Poller poller;
    when(
        poller, [&] { return server.request_count() == 4; },
        [&] {
            EXPECT_EQ(client.running(), 4u);
            EXPECT_EQ(client.in_flight(), 20u);
            client.close([&] {
                closed = true;
                closed_after_every_done = dones == 20;
            });
            EXPECT_EQ(dones, 0) << "done ran inside close()";
        });
    run(client);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(closed_after_every_done);
    for (int count : calls) EXPECT_EQ(count, 1);
    EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(HttpClientTest, CloseFromInsideADone) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request& request) {
        if (request.target == "/fast") return answer(200, "fast");
        return ScriptedHttpServer::Reply{"", false, true};
    });
    HttpClient client(&loop_, options());
    int cancelled = 0;
    bool closed = false;
    for (int i = 0; i < 5; ++i) {
        client.send(get(server.url("/slow")), [&](HttpClientResponse response) { cancelled += response.cancelled; });
    }
    client.send(get(server.url("/fast")), [&](HttpClientResponse response) {
        EXPECT_EQ(response.status, 200);
        client.close([&] { closed = true; });
        EXPECT_EQ(client.in_flight(), 5u);  // cancelled, their dones still to run
    });
    run(client);
    EXPECT_TRUE(closed);
    EXPECT_EQ(cancelled, 5);
}

TEST_F(HttpClientTest, SendAfterCloseIsCancelledAtOnce) {
    HttpClient client(&loop_, options());
    bool closed = false;
    client.close([&] { closed = true; });
    int calls = 0;
    client.send(get("http://127.0.0.1:1/"), [&](HttpClientResponse response) {
        ++calls;
        EXPECT_TRUE(response.cancelled);
    });
    EXPECT_EQ(calls, 1);
    client.close([] { ADD_FAILURE() << "second close called back"; });
    run(client);
    EXPECT_TRUE(closed);
}

TEST_F(HttpClientTest, SendFromInsideTheCancelledDone) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", false, true}; });
    HttpClient client(&loop_, options());
    int late_calls = 0;
    client.send(get(server.url("/")), [&](HttpClientResponse response) {
        EXPECT_TRUE(response.cancelled);
        client.send(get(server.url("/again")), [&](HttpClientResponse again) {
            ++late_calls;
            EXPECT_TRUE(again.cancelled);
        });
    });
    Poller poller;
    when(
        poller, [&] { return server.request_count() == 1; }, [&] { client.close(nullptr); });
    run(client);
    EXPECT_EQ(late_calls, 1);
}

TEST_F(HttpClientTest, CloseWithNothingSent) {
    HttpClient client(&loop_, options());
    bool closed = false;
    client.close([&] { closed = true; });
    EXPECT_FALSE(closed);  // on a later loop turn
    run(client);
    EXPECT_TRUE(closed);
}

TEST_F(HttpClientTest, CloseWhileIdleConnectionsAreCached) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(200, "ok"); });
    const auto responses = fetch_all({get(server.url("/1")), get(server.url("/2")), get(server.url("/3"))});
    for (const auto& response : responses) EXPECT_EQ(response.status, 200);
    EXPECT_GE(server.connections_accepted(), 1);
}

TEST_F(HttpClientTest, ClientDestroyedFromItsClosedCallback) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return answer(200, "ok"); });
    auto client = std::make_unique<HttpClient>(&loop_, options());
    bool got = false;
    client->send(get(server.url("/")), [&](HttpClientResponse response) {
        got = response.status == 200;
        client->close([&] { client.reset(); });
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(got);
    EXPECT_EQ(client, nullptr);
}

TEST_F(HttpClientTest, DestroyingAnOpenClientDropsCallbacksAndFreesHandles) {
    ScriptedHttpServer server([](const ScriptedHttpServer::Request&) { return ScriptedHttpServer::Reply{"", false, true}; });
    auto client = std::make_unique<HttpClient>(&loop_, options());
    for (int i = 0; i < 3; ++i) {
        client->send(get(server.url("/")), [](HttpClientResponse) { ADD_FAILURE() << "done after destruction"; });
    }
    Poller poller;
    when(
        poller, [&] { return server.request_count() == 3; }, [&] { client.reset(); });
    uv_run(&loop_, UV_RUN_DEFAULT);  // ends once the abandoned client's handles are closed
    EXPECT_EQ(client, nullptr);
}

// --- TLS ---

class HttpClientTlsTest : public HttpClientTest {};

TEST_F(HttpClientTlsTest, UntrustedCertificateIsRejected) {
    TestCertificate certificate("IP:127.0.0.1,DNS:localhost");
    TlsTestServer server(certificate);
    const HttpClientResponse response = fetch(get(server.url("/")));  // system CAs only
    expect_failure(response);
    EXPECT_NE(response.error.find("certificate"), std::string::npos) << response.error;
    EXPECT_EQ(server.handshakes_completed(), 0);
}

TEST_F(HttpClientTlsTest, TrustedThroughCaFile) {
    TestCertificate certificate("IP:127.0.0.1,DNS:localhost");
    TlsTestServer server(certificate);
    HttpClientOptions client_options = options();
    client_options.ca_file = certificate.pem_path;
    const HttpClientResponse response = fetch(get(server.url("/")), client_options);
    EXPECT_EQ(response.status, 200) << response.error;
    EXPECT_EQ(response.body, "ok");
}

TEST_F(HttpClientTlsTest, HostNameMismatchIsRejectedEvenWhenTrusted) {
    TestCertificate certificate("DNS:somewhere.example");
    TlsTestServer server(certificate);
    HttpClientOptions client_options = options();
    client_options.ca_file = certificate.pem_path;
    const HttpClientResponse response = fetch(get(server.url("/")), client_options);
    expect_failure(response);
    EXPECT_EQ(response.error.rfind("127.0.0.1: ", 0), 0u) << response.error;
}

TEST_F(HttpClientTlsTest, MissingCaFileIsAnErrorNotAFallback) {
    TestCertificate certificate("IP:127.0.0.1");
    TlsTestServer server(certificate);
    HttpClientOptions client_options = options();
    client_options.ca_file = "/nonexistent/ca.pem";
    expect_failure(fetch(get(server.url("/")), client_options));
}

}  // namespace
}  // namespace tokend
