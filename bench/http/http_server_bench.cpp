// Requests per second of the HTTP server: a fixed "200 ok" handler on
// 127.0.0.1, clients on plain blocking sockets in benchmark threads. The loop
// runs in its own thread for the whole run (started and closed in main).
//
//   build-*/bench/http/http_server_bench --benchmark_min_time=2
#include "io/http_request_parser.h"
#include "io/http_server.h"

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>

namespace {

using tokend::HttpLimits;
using tokend::HttpRequest;
using tokend::HttpResponder;
using tokend::HttpResponse;
using tokend::HttpServer;

const std::string kRequest =
    "GET /oauth/callback?code=0123456789abcdef&state=fedcba9876543210 HTTP/1.1\r\n"
    "Host: tokend.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";

int g_port = 0;

// Runs the server's loop in a thread; stops it with close() through an async handle.
class ServerThread {
public:
    ServerThread() {
        uv_loop_init(&loop_);
        HttpLimits limits;
        limits.max_connections = 4096;
        server_ = std::make_unique<HttpServer>(&loop_, limits, [](HttpRequest&&, HttpResponder respond) {
            HttpResponse response;
            response.headers.emplace_back("Content-Type", "text/plain");
            response.body = "ok";
            respond(std::move(response));
        });
        g_port = server_->listen("127.0.0.1", 0);
        uv_async_init(&loop_, &stop_, [](uv_async_t* async) {
            auto* self = static_cast<ServerThread*>(async->data);
            self->server_->close(std::chrono::milliseconds(1000), [self] {
                uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
            });
        });
        stop_.data = this;
        thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    }
    ~ServerThread() {
        uv_async_send(&stop_);
        thread_.join();
        server_.reset();
        if (uv_loop_close(&loop_) != 0) std::abort();  // a handle leaked
    }

private:
    uv_loop_t loop_{};
    uv_async_t stop_{};
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

int connect_to_server() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(g_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void send_all(int fd, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) std::abort();
        sent += static_cast<size_t>(n);
    }
}

// Reads `count` answers with a 2-byte body ("...\r\n\r\nok"); keeps extra bytes in `buffer`.
void read_answers(int fd, std::string& buffer, int count) {
    char chunk[65536];
    for (int done = 0; done < count;) {
        const size_t head_end = buffer.find("\r\n\r\n");
        if (head_end != std::string::npos && buffer.size() >= head_end + 4 + 2) {
            buffer.erase(0, head_end + 4 + 2);
            ++done;
            continue;
        }
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) std::abort();
        buffer.append(chunk, static_cast<size_t>(n));
    }
}

void BM_KeepAlive(benchmark::State& state) {
    const int fd = connect_to_server();
    std::string buffer;
    for (auto _ : state) {
        send_all(fd, kRequest);
        read_answers(fd, buffer, 1);
    }
    ::close(fd);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeepAlive)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_Pipelined16(benchmark::State& state) {
    const int fd = connect_to_server();
    std::string batch;
    for (int i = 0; i < 16; ++i) batch += kRequest;
    std::string buffer;
    for (auto _ : state) {
        send_all(fd, batch);
        read_answers(fd, buffer, 16);
    }
    ::close(fd);
    state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_Pipelined16)->Threads(1)->Threads(4)->UseRealTime();

void BM_ConnectionPerRequest(benchmark::State& state) {
    const std::string closing = kRequest.substr(0, kRequest.size() - 2) + "Connection: close\r\n\r\n";
    std::string buffer;
    for (auto _ : state) {
        const int fd = connect_to_server();
        send_all(fd, closing);
        buffer.clear();
        read_answers(fd, buffer, 1);
        ::close(fd);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConnectionPerRequest)->Threads(1)->Threads(4)->UseRealTime();

// The pure parts alone, for scale.
void BM_ParseRequest(benchmark::State& state) {
    const HttpLimits limits;
    for (auto _ : state) {
        tokend::HttpRequestParser parser(limits);
        auto step = parser.feed(kRequest);
        benchmark::DoNotOptimize(step);
        HttpRequest request = parser.take_request();
        benchmark::DoNotOptimize(request.query.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRequest);

void BM_SerializeResponse(benchmark::State& state) {
    HttpResponse response;
    response.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    response.body = std::string(512, 'x');
    const std::string date = tokend::http_date(1700000000);
    for (auto _ : state) {
        auto bytes = tokend::serialize_response(response, {false, true, false, date});
        benchmark::DoNotOptimize(bytes.value().data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeResponse);

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    {
        ServerThread server;
        benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
    return 0;
}
