// The HTTP server over real sockets on 127.0.0.1 (port 0). The loop runs in a
// thread of its own; the test thread plays the client with plain POSIX sockets
// (http_test_client.h) and reaches the loop only through post()/on_loop().
#include "io/http_server.h"

#include "http_test_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace tokend {
namespace {

using test::ClientResponse;
using test::get_request;
using test::TestClient;
using ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Runs `fn` on the loop after `delay` (a one-shot timer that closes itself).
void run_later(uv_loop_t* loop, uint64_t delay_ms, std::function<void()> fn) {
    auto* timer = new uv_timer_t;
    uv_timer_init(loop, timer);
    timer->data = new std::function<void()>(std::move(fn));
    uv_timer_start(
        timer,
        [](uv_timer_t* t) {
            auto* f = static_cast<std::function<void()>*>(t->data);
            (*f)();
            delete f;
            uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        },
        delay_ms, 0);
}

HttpResponse text(std::string body, int status = 200) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "text/plain");
    response.body = std::move(body);
    return response;
}

HttpLimits short_limits() {
    HttpLimits limits;
    limits.request_timeout = ms(200);
    limits.idle_timeout = ms(200);
    limits.send_timeout = ms(200);
    limits.linger_timeout = ms(200);
    return limits;
}

class HttpServerTest : public testing::Test {
protected:
    static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }  // as the daemon does

    void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }

    void TearDown() override {
        stop();
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle leaked";
    }

    // Creates the server on 127.0.0.1:0 and runs the loop in its thread.
    void start(HttpLimits limits, HttpHandler handler) {
        server_ = std::make_unique<HttpServer>(&loop_, limits, std::move(handler));
        port_ = server_->listen("127.0.0.1", 0);
        ASSERT_GT(port_, 0);
        run_loop_thread();
    }

    void run_loop_thread() {
        ASSERT_EQ(uv_async_init(&loop_, &wake_, on_wake), 0);
        wake_.data = this;
        thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    }

    // Queues `fn` for the loop thread.
    void post(std::function<void()> fn) {
        {
            std::lock_guard<std::mutex> hold(mutex_);
            tasks_.push_back(std::move(fn));
        }
        uv_async_send(&wake_);
    }

    // Runs `fn` on the loop thread and returns its result.
    template <typename F>
    auto on_loop(F fn) -> decltype(fn()) {
        using R = decltype(fn());
        auto promise = std::make_shared<std::promise<R>>();
        auto future = promise->get_future();
        post([promise, fn = std::move(fn)]() mutable {
            if constexpr (std::is_void_v<R>) {
                fn();
                promise->set_value();
            } else {
                promise->set_value(fn());
            }
        });
        return future.get();
    }

    size_t connections() {
        return on_loop([this] { return server_->connections(); });
    }

    // Polls `condition` (on the test thread) until it holds or `timeout` passes.
    template <typename F>
    bool eventually(F condition, ms timeout = ms(5000)) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (condition()) return true;
            std::this_thread::sleep_for(ms(5));
        }
        return condition();
    }

    // close(grace) on the loop; waits for `done`; returns how long that took.
    ms close_server(ms grace) {
        const auto started = Clock::now();
        auto done = std::make_shared<std::promise<void>>();
        auto finished = done->get_future();
        post([this, grace, done] { server_->close(grace, [done] { done->set_value(); }); });
        EXPECT_EQ(finished.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "close() never finished";
        closed_ = true;
        return std::chrono::duration_cast<ms>(Clock::now() - started);
    }

    void stop() {
        if (!thread_.joinable()) return;
        if (!closed_) close_server(ms(0));
        post([this] { uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr); });
        thread_.join();
        server_.reset();
    }

    static void on_wake(uv_async_t* handle) {
        auto* self = static_cast<HttpServerTest*>(handle->data);
        std::deque<std::function<void()>> ready;
        {
            std::lock_guard<std::mutex> hold(self->mutex_);
            ready.swap(self->tasks_);
        }
        for (auto& task : ready) task();
    }

    uv_loop_t loop_{};
    uv_async_t wake_{};
    std::thread thread_;
    std::mutex mutex_;
    std::deque<std::function<void()>> tasks_;
    std::unique_ptr<HttpServer> server_;
    int port_ = 0;
    bool closed_ = false;
};

// ---- the basics ------------------------------------------------------------

TEST_F(HttpServerTest, SimpleGet) {
    std::mutex seen_mutex;
    HttpRequest seen;
    start(HttpLimits{}, [&](HttpRequest&& request, HttpResponder respond) {
        {
            std::lock_guard<std::mutex> hold(seen_mutex);
            seen = request;
        }
        respond(text("hello " + request.path));
    });
    TestClient client(port_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.send(get_request("/cb?code=secret&state=s", "X-Test: yes\r\n")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->version, "HTTP/1.1");
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello /cb");
    ASSERT_NE(response->header("Content-Length"), nullptr);
    EXPECT_EQ(*response->header("Content-Length"), "9");
    ASSERT_NE(response->header("Date"), nullptr);
    EXPECT_EQ(response->header("Date")->size(), 29u);
    EXPECT_EQ(response->header("Connection"), nullptr);  // keep-alive is HTTP/1.1's default
    ASSERT_NE(response->header("Content-Type"), nullptr);

    std::lock_guard<std::mutex> hold(seen_mutex);
    EXPECT_EQ(seen.method, "GET");
    EXPECT_EQ(seen.target, "/cb?code=secret&state=s");
    EXPECT_EQ(seen.path, "/cb");
    EXPECT_EQ(seen.query, "code=secret&state=s");
    ASSERT_NE(seen.header("x-test"), nullptr);
    EXPECT_EQ(*seen.header("x-test"), "yes");
    EXPECT_EQ(seen.peer.rfind("127.0.0.1:", 0), 0u) << seen.peer;
}

TEST_F(HttpServerTest, AsyncAnswer) {
    start(HttpLimits{}, [&](HttpRequest&& request, HttpResponder respond) {
        run_later(&loop_, 50, [respond, path = request.path] { respond(text("later " + path)); });
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/x")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "later /x");
}

TEST_F(HttpServerTest, KeepAliveCarriesSeveralRequests) {
    std::atomic<int> handled{0};
    start(HttpLimits{}, [&](HttpRequest&& request, HttpResponder respond) {
        ++handled;
        respond(text(request.path));
    });
    TestClient client(port_);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(client.send(get_request("/" + std::to_string(i))));
        const auto response = client.read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->body, "/" + std::to_string(i));
    }
    EXPECT_EQ(handled.load(), 5);
    EXPECT_EQ(connections(), 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
    // Later requests are answered faster than earlier ones would be, were they
    // handled side by side; the server must still answer in request order.
    std::atomic<int> with_handler{0};
    std::atomic<int> most_at_once{0};
    start(HttpLimits{}, [&](HttpRequest&& request, HttpResponder respond) {
        const int now = ++with_handler;
        most_at_once = std::max(most_at_once.load(), now);
        const int index = std::stoi(request.path.substr(1));
        run_later(&loop_, static_cast<uint64_t>(30 - 3 * index), [&, respond, index] {
            --with_handler;
            respond(text(std::to_string(index)));
        });
    });
    TestClient client(port_);
    std::string batch;
    for (int i = 0; i < 10; ++i) batch += get_request("/" + std::to_string(i));
    ASSERT_TRUE(client.send(batch));
    for (int i = 0; i < 10; ++i) {
        const auto response = client.read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->body, std::to_string(i));
    }
    EXPECT_EQ(most_at_once.load(), 1);
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveCloses) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder respond) { respond(text("old")); });
    TestClient client(port_);
    ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "old");
    ASSERT_NE(response->header("Connection"), nullptr);
    EXPECT_EQ(*response->header("Connection"), "close");
    EXPECT_TRUE(client.wait_closed());
}

TEST_F(HttpServerTest, Http10KeepAliveStaysOpen) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) { respond(text(request.path)); });
    TestClient client(port_);
    for (const char* path : {"/a", "/b"}) {
        ASSERT_TRUE(client.send(std::string("GET ") + path + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        const auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body, path);
        ASSERT_NE(response->header("Connection"), nullptr);
        EXPECT_EQ(*response->header("Connection"), "keep-alive");
    }
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder respond) { respond(text("12345")); });
    TestClient client(port_);
    ASSERT_TRUE(client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
    const auto head = client.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(*head->header("Content-Length"), "5");
    EXPECT_TRUE(head->body.empty());
    // Had a body been sent, it would now be read as the next status line.
    ASSERT_TRUE(client.send(get_request("/")));
    const auto next = client.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, "12345");
}

TEST_F(HttpServerTest, PostWithBody) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) {
        respond(text(request.method + ":" + request.body));
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "POST:hello world");
}

TEST_F(HttpServerTest, ChunkedBody) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) { respond(text(request.body)); });
    TestClient client(port_);
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    ASSERT_TRUE(client.send("4\r\nabcd\r\n"));
    std::this_thread::sleep_for(ms(20));
    ASSERT_TRUE(client.send("3\r\nefg\r\n0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "abcdefg");
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimAnswer) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) { respond(text(request.body)); });
    TestClient client(port_);
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    const auto interim = client.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(client.send("data"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "data");
}

TEST_F(HttpServerTest, HandlerConnectionCloseIsHonoured) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder respond) {
        HttpResponse response = text("bye");
        response.headers.emplace_back("Connection", "close");
        respond(std::move(response));
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(*response->header("Connection"), "close");
    EXPECT_TRUE(client.wait_closed());
}

// ---- handler mistakes ------------------------------------------------------

TEST_F(HttpServerTest, HeaderInjectionBecomes500) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) {
        HttpResponse response = text("x");
        if (request.path == "/bad") response.headers.emplace_back("Location", "/ok\r\nSet-Cookie: evil=1");
        respond(std::move(response));
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/bad")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_EQ(response->header("Set-Cookie"), nullptr);
    EXPECT_EQ(response->header("Location"), nullptr);
    // The connection is still usable.
    ASSERT_TRUE(client.send(get_request("/good")));
    const auto next = client.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, ThrowingHandlerBecomes500) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder) { throw std::runtime_error("boom"); });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
}

TEST_F(HttpServerTest, DroppedResponderBecomes500) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder) {});
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
}

TEST_F(HttpServerTest, SecondAnswerIsIgnored) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) {
        respond(text("first " + request.path));
        respond(text("second " + request.path));
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/a") + get_request("/b")));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "first /a");
    response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "first /b");
}

// ---- limits ----------------------------------------------------------------

class HttpServerLimitTest : public HttpServerTest {
protected:
    void SetUp() override {
        HttpServerTest::SetUp();
        HttpLimits limits = short_limits();
        limits.max_url_bytes = 100;
        limits.max_header_bytes = 200;
        limits.max_headers = 5;
        limits.max_body_bytes = 50;
        start(limits, [this](HttpRequest&&, HttpResponder respond) {
            ++handled_;
            respond(text("ok"));
        });
    }
    // Sends `bytes`, expects `status` with "Connection: close", then the close.
    void expect_refused(std::string_view bytes, int status) {
        TestClient client(port_);
        ASSERT_TRUE(client.ok());
        client.send(bytes);  // may fail part way: the server can close first
        const auto response = client.read_response();
        ASSERT_TRUE(response) << "no answer; expected " << status;
        EXPECT_EQ(response->status, status);
        ASSERT_NE(response->header("Connection"), nullptr);
        EXPECT_EQ(*response->header("Connection"), "close");
        EXPECT_NE(response->header("Date"), nullptr);
        EXPECT_TRUE(client.wait_closed());
        EXPECT_EQ(handled_.load(), 0);
    }
    std::atomic<int> handled_{0};
};

TEST_F(HttpServerLimitTest, Garbage400) { expect_refused("\x16\x03\x01\x02\x00garbage\r\n\r\n", 400); }

TEST_F(HttpServerLimitTest, LongUrl414) { expect_refused(get_request("/" + std::string(200, 'a')), 414); }

TEST_F(HttpServerLimitTest, TooManyHeaders431) {
    std::string extra;
    for (int i = 0; i < 10; ++i) extra += "X-" + std::to_string(i) + ": v\r\n";
    expect_refused(get_request("/", extra), 431);
}

TEST_F(HttpServerLimitTest, TooManyHeaderBytes431) {
    expect_refused(get_request("/", "X-Big: " + std::string(300, 'v') + "\r\n"), 431);
}

TEST_F(HttpServerLimitTest, BodyByContentLength413) {
    // Answered from the head alone: the client never sends the body.
    expect_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", 413);
}

TEST_F(HttpServerLimitTest, ChunkedBodyTooLarge413) {
    std::string request = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 10; ++i) request += "a\r\n0123456789\r\n";
    request += "0\r\n\r\n";
    expect_refused(request, 413);
}

TEST_F(HttpServerLimitTest, UnsupportedTransferEncoding501) {
    expect_refused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
}

TEST_F(HttpServerLimitTest, SlowlorisGets408) {
    TestClient client(port_);
    const std::string request = get_request("/", "X-Slow: 1\r\n");
    const auto started = Clock::now();
    // One byte every 25 ms: the whole head would take ~1 s; the limit is 200 ms.
    for (size_t i = 0; i < request.size() - 1; ++i) {
        if (!client.send(std::string_view(request).substr(i, 1))) break;
        std::this_thread::sleep_for(ms(25));
        if (Clock::now() - started > ms(600)) break;
    }
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 408);
    EXPECT_TRUE(client.wait_closed());
    EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerLimitTest, IdleKeepAliveClosedSilently) {
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    ASSERT_TRUE(client.read_response());
    const auto started = Clock::now();
    EXPECT_TRUE(client.wait_closed(ms(2000)));
    EXPECT_GE(Clock::now() - started, ms(150));
    EXPECT_TRUE(client.leftover().empty()) << "idle close must be silent";
}

TEST_F(HttpServerLimitTest, SilentNewConnectionClosed) {
    TestClient client(port_);
    EXPECT_TRUE(client.wait_closed(ms(2000)));
    EXPECT_TRUE(client.leftover().empty());
    EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerLimitTest, LimitsAtTheEdgeAreFine) {
    TestClient client(port_);
    ASSERT_TRUE(client.send("POST /" + std::string(99, 'a') + " HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n" +
                            std::string(50, 'b')));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, MaxConnectionsRefusesOnlyTheExtraOne) {
    HttpLimits limits;
    limits.max_connections = 2;
    start(limits, [](HttpRequest&& request, HttpResponder respond) { respond(text(request.path)); });
    TestClient first(port_);
    TestClient second(port_);
    ASSERT_TRUE(first.send(get_request("/1")));
    ASSERT_TRUE(first.read_response());
    ASSERT_TRUE(second.send(get_request("/2")));
    ASSERT_TRUE(second.read_response());

    TestClient third(port_);  // the kernel accepts it; the server answers 503 and closes
    ASSERT_TRUE(third.ok());
    if (const auto refused = third.read_response()) {
        EXPECT_EQ(refused->status, 503);
    }
    EXPECT_TRUE(third.wait_closed());

    for (TestClient* client : {&first, &second}) {
        ASSERT_TRUE(client->send(get_request("/again")));
        const auto response = client->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body, "/again");
    }
    EXPECT_EQ(connections(), 2u);
}

// ---- clients that go away or do not read -----------------------------------

TEST_F(HttpServerTest, ClientResetBeforeAsyncAnswer) {
    std::mutex held_mutex;
    std::vector<HttpResponder> held;
    start(short_limits(), [&](HttpRequest&&, HttpResponder respond) {
        std::lock_guard<std::mutex> hold(held_mutex);
        held.push_back(std::move(respond));
    });
    {
        TestClient client(port_);
        ASSERT_TRUE(client.send(get_request("/")));
        ASSERT_TRUE(eventually([&] {
            std::lock_guard<std::mutex> hold(held_mutex);
            return held.size() == 1;
        }));
        client.reset();
    }
    ASSERT_TRUE(eventually([&] { return connections() == 0; }));
    on_loop([&] {
        std::lock_guard<std::mutex> hold(held_mutex);
        held[0](text("too late"));  // the connection is gone: nothing happens
        held[0](text("again"));
        held.clear();               // dropping it must not try to answer either
    });
}

TEST_F(HttpServerTest, ClientHalfCloseStillGetsAnswer) {
    start(short_limits(), [&](HttpRequest&&, HttpResponder respond) {
        run_later(&loop_, 50, [respond] { respond(text("answer")); });
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    client.shutdown_write();
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "answer");
    EXPECT_TRUE(client.wait_closed());
    EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerTest, ClientClosedBeforeAsyncAnswer) {
    std::atomic<int> answered{0};
    start(short_limits(), [&](HttpRequest&&, HttpResponder respond) {
        run_later(&loop_, 100, [&, respond] {
            respond(text(std::string(100000, 'x')));
            ++answered;
        });
    });
    {
        TestClient client(port_);
        ASSERT_TRUE(client.send(get_request("/")));
    }  // closed without reading
    EXPECT_TRUE(eventually([&] { return answered.load() == 1; }));
    EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerTest, ClientThatNeverReadsIsCutOff) {
    std::atomic<int> handled{0};
    HttpLimits limits = short_limits();
    limits.max_write_queue_bytes = 64 * 1024;
    start(limits, [&](HttpRequest&&, HttpResponder respond) {
        ++handled;
        respond(text(std::string(1 << 20, 'z')));
    });
    TestClient client(port_, "127.0.0.1", 4096);  // small receive window, and never read
    std::string batch;
    constexpr int kRequests = 50;
    for (int i = 0; i < kRequests; ++i) batch += get_request("/big");
    client.send(batch);
    ASSERT_TRUE(eventually([&] { return handled.load() >= 1; }));
    const auto first_answer = Clock::now();
    EXPECT_TRUE(eventually([&] { return connections() == 0; }, ms(5000)));
    // Cut off by send_timeout once the unsent bytes passed the bound, not before.
    EXPECT_GE(Clock::now() - first_answer, ms(150));
    // The server stopped taking requests once the client stopped reading.
    EXPECT_LT(handled.load(), kRequests);
    EXPECT_TRUE(client.wait_closed());
}

// ---- closing -----------------------------------------------------------------

TEST_F(HttpServerTest, GracefulCloseFinishesRequestInFlight) {
    std::mutex held_mutex;
    HttpResponder held;
    start(HttpLimits{}, [&](HttpRequest&&, HttpResponder respond) {
        std::lock_guard<std::mutex> hold(held_mutex);
        held = std::move(respond);
    });
    TestClient idle(port_);
    ASSERT_TRUE(idle.send(get_request("/warmup-is-not-needed", "Connection: keep-alive\r\n")));
    ASSERT_TRUE(eventually([&] {
        std::lock_guard<std::mutex> hold(held_mutex);
        return static_cast<bool>(held);
    }));
    // The first client's request is in flight; answer it so it becomes idle.
    on_loop([&] {
        std::lock_guard<std::mutex> hold(held_mutex);
        auto respond = std::move(held);
        held = nullptr;
        respond(text("warm"));
    });
    ASSERT_TRUE(idle.read_response());

    auto busy = std::make_unique<TestClient>(port_);
    ASSERT_TRUE(busy->send(get_request("/slow")));
    ASSERT_TRUE(eventually([&] {
        std::lock_guard<std::mutex> hold(held_mutex);
        return static_cast<bool>(held);
    }));

    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    on_loop([&] {
        server_->close(ms(5000), [done] { done->set_value(); });
        // Answer 100 ms into the grace period.
        run_later(&loop_, 100, [&] {
            std::lock_guard<std::mutex> hold(held_mutex);
            held(text("finished"));
            held = nullptr;
        });
    });
    closed_ = true;
    EXPECT_TRUE(idle.wait_closed(ms(2000))) << "an idle connection is closed at once";
    const auto response = busy->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "finished");
    ASSERT_NE(response->header("Connection"), nullptr);
    EXPECT_EQ(*response->header("Connection"), "close");
    EXPECT_TRUE(busy->wait_closed());
    busy.reset();  // our FIN ends the server's lingering close at once
    EXPECT_EQ(finished.wait_for(std::chrono::seconds(1)), std::future_status::ready);

    TestClient late(port_);
    EXPECT_FALSE(late.ok()) << "nobody listens any more";
}

TEST_F(HttpServerTest, GracefulCloseLetsAHalfReceivedRequestFinish) {
    start(HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) { respond(text(request.body)); });
    auto owned = std::make_unique<TestClient>(port_);
    TestClient& client = *owned;
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nhal"));
    ASSERT_TRUE(eventually([&] { return connections() == 1; }));
    std::this_thread::sleep_for(ms(20));  // let the server read the first half
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    post([this, done] { server_->close(ms(5000), [done] { done->set_value(); }); });
    closed_ = true;
    std::this_thread::sleep_for(ms(50));
    ASSERT_TRUE(client.send("f!!"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "half!!");
    EXPECT_EQ(*response->header("Connection"), "close");
    EXPECT_TRUE(client.wait_closed());
    owned.reset();  // our FIN ends the server's lingering close
    EXPECT_EQ(finished.wait_for(std::chrono::seconds(1)), std::future_status::ready);
}

TEST_F(HttpServerTest, GraceDeadlineClosesStuckRequests) {
    std::mutex held_mutex;
    HttpResponder held;
    start(HttpLimits{}, [&](HttpRequest&&, HttpResponder respond) {
        std::lock_guard<std::mutex> hold(held_mutex);
        held = std::move(respond);
    });
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/never")));
    ASSERT_TRUE(eventually([&] {
        std::lock_guard<std::mutex> hold(held_mutex);
        return static_cast<bool>(held);
    }));
    const ms took = close_server(ms(150));
    EXPECT_GE(took, ms(100));
    EXPECT_LT(took, ms(3000));
    EXPECT_TRUE(client.wait_closed());
    // A late answer after the server closed is a no-op.
    std::lock_guard<std::mutex> hold(held_mutex);
    held(text("late"));
    held = nullptr;
}

TEST_F(HttpServerTest, CloseWithoutAnyConnection) {
    start(HttpLimits{}, [](HttpRequest&&, HttpResponder respond) { respond(text("")); });
    EXPECT_LT(close_server(ms(1000)), ms(500));
}

TEST_F(HttpServerTest, DestroyingAnOpenServerReleasesEverything) {
    // Without the loop thread: accept a connection, then destroy the server
    // without close(); the loop's close callbacks free the rest.
    auto server = std::make_unique<HttpServer>(&loop_, HttpLimits{}, [](HttpRequest&&, HttpResponder) {});
    const int port = server->listen("127.0.0.1", 0);
    TestClient client(port);
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 50 && server->connections() == 0; ++i) {
        uv_run(&loop_, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(ms(2));
    }
    EXPECT_EQ(server->connections(), 1u);
    server.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(client.wait_closed(ms(1000)));
}

// ---- listening ---------------------------------------------------------------

TEST_F(HttpServerTest, ListenErrorsNameTheAddress) {
    HttpServer server(&loop_, HttpLimits{}, [](HttpRequest&&, HttpResponder) {});
    const int port = server.listen("127.0.0.1", 0);
    try {
        server.listen("127.0.0.1", port);
        ADD_FAILURE() << "second listen on the same port succeeded";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot listen on 127.0.0.1:" + std::to_string(port) + ": address already in use");
    }
    EXPECT_THROW(server.listen("not-an-address", 80), std::runtime_error);
    EXPECT_THROW(server.listen("127.0.0.1", 70000), std::runtime_error);
    bool done = false;
    server.close(ms(0), [&] { done = true; });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(done);
}

TEST_F(HttpServerTest, AdoptsAnInheritedSocket) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    server_ = std::make_unique<HttpServer>(&loop_, HttpLimits{},
                                           [](HttpRequest&&, HttpResponder respond) { respond(text("adopted")); });
    port_ = server_->adopt(fd);
    ASSERT_GT(port_, 0);
    run_loop_thread();
    TestClient client(port_);
    ASSERT_TRUE(client.send(get_request("/")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "adopted");
}

TEST_F(HttpServerTest, ListensOnIpv6Loopback) {
    server_ = std::make_unique<HttpServer>(&loop_, HttpLimits{}, [](HttpRequest&& request, HttpResponder respond) {
        respond(text(request.peer));
    });
    try {
        port_ = server_->listen("::1", 0);
    } catch (const std::runtime_error& e) {
        run_loop_thread();
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    run_loop_thread();
    TestClient client(port_, "::1");
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.send(get_request("/")));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body.rfind("[::1]:", 0), 0u) << response->body;
}

// ---- load --------------------------------------------------------------------

TEST_F(HttpServerTest, AThousandConcurrentConnections) {
    constexpr int kClients = 1000;
    HttpLimits limits;
    limits.max_connections = 2 * kClients;
    start(limits, [&](HttpRequest&& request, HttpResponder respond) {
        // Half answer at once, half from a timer: both kinds in flight together.
        if (request.path.back() % 2 == 0) {
            respond(text(request.path));
        } else {
            run_later(&loop_, 5, [respond, path = request.path] { respond(text(path)); });
        }
    });
    const auto started = Clock::now();
    std::vector<std::unique_ptr<TestClient>> clients;
    clients.reserve(kClients);
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<TestClient>(port_));
        ASSERT_TRUE(clients.back()->ok()) << "connect " << i;
    }
    EXPECT_TRUE(eventually([&] { return connections() == static_cast<size_t>(kClients); }));
    for (int i = 0; i < kClients; ++i) {
        ASSERT_TRUE(clients[i]->send(get_request("/" + std::to_string(i), "Connection: close\r\n"))) << i;
    }
    for (int i = 0; i < kClients; ++i) {
        const auto response = clients[i]->read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->body, "/" + std::to_string(i));
    }
    clients.clear();
    EXPECT_TRUE(eventually([&] { return connections() == 0; }));
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
}

}  // namespace
}  // namespace tokend
