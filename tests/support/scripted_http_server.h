// A scripted HTTP/1.1 server on 127.0.0.1 (a port the kernel picks) for tests of
// HTTP clients: one thread, poll(), non-blocking sockets, plain POSIX code, so
// that no tokend server code is used and a bug there cannot hide one in a client.
// Each complete request goes to the handler, whose Reply says what to send back
// and whether to close the connection afterwards or never answer at all.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tokend::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality, as HTTP compares header names.
bool same_ignoring_case(std::string_view a, std::string_view b);

// A complete HTTP/1.1 response with Content-Length.
std::string http_response(int status, std::string_view body, const Headers& headers = {});

// Binds a TCP socket to 127.0.0.1 on a port the kernel picks and sets port;
// -1 if that fails. Not listening yet.
int bound_socket(uint16_t& port);

class ScriptedHttpServer {
public:
    struct Request {
        std::string method;
        std::string target;
        Headers headers;
        std::string body;
        int connection = 0;  // 1, 2, ... in accept order

        const std::string* header(std::string_view name) const;
    };
    struct Reply {
        std::string bytes;         // sent as is
        bool close_after = false;  // close once sent (without saying so, unless `bytes` does)
        bool hang = false;         // never answer; keep the connection open
    };
    using Handler = std::function<Reply(const Request&)>;

    explicit ScriptedHttpServer(Handler handler);
    ~ScriptedHttpServer();
    ScriptedHttpServer(const ScriptedHttpServer&) = delete;
    ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

    uint16_t port() const { return port_; }
    std::string url(std::string_view path) const;
    std::vector<Request> requests() const;
    size_t request_count() const;
    int connections_accepted() const { return accepted_.load(); }
    int most_connections_open() const { return most_open_.load(); }

private:
    struct Connection {
        int fd = -1;
        int id = 0;
        std::string in;
        std::string out;
        bool close_when_sent = false;
        bool hanging = false;
        bool dead = false;
    };

    void run();
    void accept_all();
    void serve(Connection& connection, short revents);
    void parse(Connection& connection);

    Handler handler_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    int wake_[2] = {-1, -1};
    std::thread thread_;
    std::vector<Connection> connections_;  // server thread only
    int open_ = 0;                         // server thread only
    std::atomic<int> accepted_{0};
    std::atomic<int> most_open_{0};
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
};

// The Reply of a complete response with Content-Length.
ScriptedHttpServer::Reply answer(int status, std::string_view body, const Headers& headers = {});

}  // namespace tokend::test
