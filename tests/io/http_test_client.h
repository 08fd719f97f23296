// A deliberately dumb HTTP/1.1 client for the server tests: blocking POSIX
// sockets with poll() deadlines and its own small response reader. It shares no
// code with the server, so the server's framing is checked by something else.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend::test {

struct ClientResponse {
    std::string version;  // "HTTP/1.1"
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // First header called `name`, case-insensitively, or nullptr.
    const std::string* header(std::string_view name) const;
};

class TestClient {
public:
    using ms = std::chrono::milliseconds;

    // Connects to 127.0.0.1:port (or `host`). ok() tells whether it worked.
    // receive_buffer > 0 sets SO_RCVBUF before connecting (a slow reader).
    explicit TestClient(int port, const std::string& host = "127.0.0.1", int receive_buffer = 0);
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }

    // Sends every byte; false if the connection is gone.
    bool send(std::string_view bytes);

    // Reads one response (1xx included). Body by Content-Length, none for HEAD,
    // 1xx, 204 and 304. nullopt on EOF, reset, timeout or a malformed answer.
    std::optional<ClientResponse> read_response(bool head_request = false, ms timeout = ms(5000));

    // Waits until the server closes (EOF or reset); bytes read meanwhile go to
    // leftover(). False on timeout.
    bool wait_closed(ms timeout = ms(5000));

    // Bytes received but not consumed by read_response.
    const std::string& leftover() const { return buffered_; }

    // Half-close: no more bytes from us (the server sees EOF).
    void shutdown_write();
    // Abortive close: the server sees a reset.
    void reset();

private:
    // Reads more into buffered_; 1 read, 0 EOF, -1 error or timeout.
    int fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    std::string buffered_;
};

// "GET <target> HTTP/1.1" with a Host header and `extra` header lines (each ending CRLF).
std::string get_request(std::string_view target, std::string_view extra = {});

}  // namespace tokend::test
