#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <strings.h>

namespace tokend::test {

const std::string* ClientResponse::header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
        if (field.size() == name.size() && strncasecmp(field.data(), name.data(), name.size()) == 0) return &value;
    }
    return nullptr;
}

TestClient::TestClient(int port, const std::string& host, int receive_buffer) {
    const bool ipv6 = host.find(':') != std::string::npos;
    const int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    if (receive_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    int rc = -1;
    if (ipv6) {
        sockaddr_in6 addr{};
        addr.sin6_family = AF_INET6;
        addr.sin6_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET6, host.c_str(), &addr.sin6_addr);
        rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } else {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
        rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    if (rc != 0) {
        ::close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
}

TestClient::~TestClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool TestClient::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

int TestClient::fill(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return -1;
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return -1;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        buffered_.append(chunk, static_cast<size_t>(n));
        return 1;
    }
}

std::optional<ClientResponse> TestClient::read_response(bool head_request, ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t head_end = std::string::npos;
    while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
        if (fill(deadline) <= 0) return std::nullopt;
    }
    ClientResponse response;
    const std::string head = buffered_.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    const size_t space = status_line.find(' ');
    if (space == std::string::npos || status_line.size() < space + 4) return std::nullopt;
    response.version = status_line.substr(0, space);
    response.status = std::atoi(status_line.substr(space + 1, 3).c_str());
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        const std::string line = head.substr(pos, end - pos);
        const size_t colon = line.find(':');
        if (colon == std::string::npos) return std::nullopt;
        size_t value_start = colon + 1;
        while (value_start < line.size() && line[value_start] == ' ') ++value_start;
        response.headers.emplace_back(line.substr(0, colon), line.substr(value_start));
        pos = end + 2;
    }
    buffered_.erase(0, head_end + 4);

    size_t length = 0;
    const bool bodiless = head_request || response.status < 200 || response.status == 204 || response.status == 304;
    if (!bodiless) {
        const std::string* content_length = response.header("Content-Length");
        if (content_length == nullptr) return std::nullopt;  // this server always sends it
        length = std::stoul(*content_length);
    }
    while (buffered_.size() < length) {
        if (fill(deadline) <= 0) return std::nullopt;
    }
    response.body = buffered_.substr(0, length);
    buffered_.erase(0, length);
    return response;
}

bool TestClient::wait_closed(ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;  // EOF or reset
        buffered_.append(chunk, static_cast<size_t>(n));
    }
}

void TestClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void TestClient::reset() {
    linger hard{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd_);
    fd_ = -1;
}

std::string get_request(std::string_view target, std::string_view extra) {
    std::string out = "GET ";
    out.append(target);
    out.append(" HTTP/1.1\r\nHost: test\r\n");
    out.append(extra);
    out.append("\r\n");
    return out;
}

}  // namespace tokend::test
