// A blocking Unix-socket line client for tests, written with plain POSIX calls
// (not with tokend's code) so that it checks the server independently.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace tokend::test {

class UnixClient {
public:
    // Connects to path; connected() tells whether it worked.
    explicit UnixClient(const std::string& path);
    ~UnixClient();
    UnixClient(const UnixClient&) = delete;
    UnixClient& operator=(const UnixClient&) = delete;

    bool connected() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    // Sends all bytes; false if the peer is gone.
    bool send(std::string_view bytes);
    // Reads one line (without '\n'); empty optional-like: returns false on EOF or timeout.
    bool read_line(std::string* line, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True when the server closed the connection (EOF) within timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Sends a request line and reads one response line.
    std::string call(std::string_view request_json);

private:
    int fd_ = -1;
    std::string buffer_;
};

}  // namespace tokend::test
