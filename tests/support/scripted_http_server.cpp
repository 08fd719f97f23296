#include "scripted_http_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

namespace tokend::test {
namespace {

std::string reason_for(int status) {
    switch (status) {
        case 200: return "OK";
        case 204: return "No Content";
        case 302: return "Found";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        default: return "Whatever";
    }
}

}  // namespace

bool same_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string http_response(int status, std::string_view body, const Headers& headers) {
    std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) + "\r\n";
    for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    text += body;
    return text;
}

int bound_socket(uint16_t& port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    return fd;
}

ScriptedHttpServer::ScriptedHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = bound_socket(port_);
    if (listen_fd_ < 0 || listen(listen_fd_, 512) != 0 || pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        ADD_FAILURE() << "test server: cannot listen";
        return;
    }
    fcntl(listen_fd_, F_SETFL, O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
    if (thread_.joinable()) {
        const char stop = 's';
        (void)!write(wake_[1], &stop, 1);
        thread_.join();
    }
    for (Connection& connection : connections_) ::close(connection.fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
}

std::string ScriptedHttpServer::url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<ScriptedHttpServer::Request> ScriptedHttpServer::requests() const {
    std::lock_guard<std::mutex> hold(mutex_);
    return requests_;
}

size_t ScriptedHttpServer::request_count() const {
    std::lock_guard<std::mutex> hold(mutex_);
    return requests_.size();
}

const std::string* ScriptedHttpServer::Request::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (same_ignoring_case(key, name)) return &value;
    }
    return nullptr;
}

void ScriptedHttpServer::run() {
    for (;;) {
        std::vector<pollfd> fds;
        fds.push_back({wake_[0], POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const Connection& connection : connections_) {
            short events = POLLIN;
            if (!connection.out.empty()) events |= POLLOUT;
            fds.push_back({connection.fd, events, 0});
        }
        if (poll(fds.data(), fds.size(), -1) < 0) continue;
        if (fds[0].revents) return;
        // Serve the connections polled (indexes match until accept appends).
        for (size_t i = 0; i + 2 < fds.size(); ++i) {
            if (fds[i + 2].revents) serve(connections_[i], fds[i + 2].revents);
        }
        if (fds[1].revents & POLLIN) accept_all();
        for (auto it = connections_.begin(); it != connections_.end();) {
            if (it->dead || (it->close_when_sent && it->out.empty())) {
                ::close(it->fd);
                it = connections_.erase(it);
                --open_;
            } else {
                ++it;
            }
        }
    }
}

void ScriptedHttpServer::accept_all() {
    for (;;) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        Connection connection;
        connection.fd = fd;
        connection.id = ++accepted_;
        connections_.push_back(std::move(connection));
        if (++open_ > most_open_) most_open_ = open_;
    }
}

void ScriptedHttpServer::serve(Connection& connection, short revents) {
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buffer[65536];
        for (;;) {
            const ssize_t got = recv(connection.fd, buffer, sizeof buffer, 0);
            if (got > 0) {
                if (!connection.hanging && !connection.close_when_sent) connection.in.append(buffer, size_t(got));
                continue;
            }
            if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) connection.dead = true;
            break;
        }
        parse(connection);
    }
    while (!connection.dead && !connection.out.empty()) {
        const ssize_t sent = send(connection.fd, connection.out.data(), connection.out.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            connection.out.erase(0, size_t(sent));
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) connection.dead = true;
        break;
    }
}

void ScriptedHttpServer::parse(Connection& connection) {
    while (!connection.hanging && !connection.close_when_sent && !connection.in.empty()) {
        if (connection.in[0] < 'A' || connection.in[0] > 'Z') {
            // Not HTTP (a TLS ClientHello, say): answer in plain HTTP and close.
            connection.out += http_response(400, "plain HTTP here\n", {{"Connection", "close"}});
            connection.close_when_sent = true;
            return;
        }
        const size_t head_end = connection.in.find("\r\n\r\n");
        if (head_end == std::string::npos) return;
        Request request;
        request.connection = connection.id;
        const std::string head = connection.in.substr(0, head_end);
        size_t line_end = head.find("\r\n");
        const std::string request_line = head.substr(0, line_end);
        const size_t space1 = request_line.find(' ');
        const size_t space2 = request_line.find(' ', space1 + 1);
        request.method = request_line.substr(0, space1);
        request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
        size_t content_length = 0;
        while (line_end != std::string::npos && line_end < head.size()) {
            const size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            const std::string line =
                head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            request.headers.emplace_back(line.substr(0, colon), value);
            if (same_ignoring_case(request.headers.back().first, "Content-Length")) {
                content_length = std::stoul(value);
            }
        }
        if (connection.in.size() < head_end + 4 + content_length) return;
        request.body = connection.in.substr(head_end + 4, content_length);
        connection.in.erase(0, head_end + 4 + content_length);
        Reply reply = handler_(request);
        {
            std::lock_guard<std::mutex> hold(mutex_);
            requests_.push_back(std::move(request));
        }
        connection.out += reply.bytes;
        connection.hanging = reply.hang;
        connection.close_when_sent = reply.close_after;
    }
}

ScriptedHttpServer::Reply answer(int status, std::string_view body, const Headers& headers) {
    return ScriptedHttpServer::Reply{http_response(status, body, headers)};
}

}  // namespace tokend::test
