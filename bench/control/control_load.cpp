// Load tool for the control socket: N clients, each sending one request line and
// waiting for its answer (closed loop), for a fixed time. Reports throughput and
// latency percentiles. The floors it is compared against are control_floor's
// servers (same sizes, same client, same machine). With --count each client
// sends that many requests instead (a fixed amount of work, for callgrind).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string socket;
    std::string request = R"({"op":"get_token","user_id":"bench-user"})";
    int clients = 1;
    double seconds = 5;
    long count = 0;  // requests per client; 0: run for `seconds`
};

int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        std::perror(("connect " + path).c_str());
        std::exit(1);
    }
    return fd;
}

bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t wrote = ::send(fd, data, size, MSG_NOSIGNAL);
        if (wrote <= 0) return false;
        data += wrote;
        size -= static_cast<size_t>(wrote);
    }
    return true;
}

// Reads up to and including one '\n'; returns the line length or -1.
ssize_t read_line(int fd, std::string& buffer, std::string* line) {
    for (;;) {
        const size_t newline = buffer.find('\n');
        if (newline != std::string::npos) {
            *line = buffer.substr(0, newline);
            buffer.erase(0, newline + 1);
            return static_cast<ssize_t>(line->size());
        }
        char chunk[65536];
        const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return -1;
        buffer.append(chunk, static_cast<size_t>(got));
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (arg == "--socket") options.socket = value();
        else if (arg == "--request") options.request = value();
        else if (arg == "--clients") options.clients = std::atoi(value().c_str());
        else if (arg == "--seconds") options.seconds = std::atof(value().c_str());
        else if (arg == "--count") options.count = std::atol(value().c_str());
        else {
            std::fprintf(stderr, "usage: control_load --socket PATH [--request JSON] [--clients N] [--seconds S | --count N]\n");
            return 2;
        }
    }
    if (options.socket.empty()) return 2;
    const std::string request = options.request + "\n";
    std::vector<std::vector<double>> latencies(options.clients);
    std::atomic<bool> failed{false};
    size_t response_size = 0;
    const auto deadline = Clock::now() + std::chrono::duration<double>(options.seconds);
    std::vector<std::thread> threads;
    const auto started = Clock::now();
    for (int c = 0; c < options.clients; ++c) {
        threads.emplace_back([&, c] {
            const int fd = connect_to(options.socket);
            std::string buffer, line;
            auto& mine = latencies[c];
            mine.reserve(options.count > 0 ? static_cast<size_t>(options.count) : 1 << 20);
            while (options.count > 0 ? mine.size() < static_cast<size_t>(options.count) : Clock::now() < deadline) {
                const auto sent = Clock::now();
                if (!write_all(fd, request.data(), request.size()) || read_line(fd, buffer, &line) < 0) {
                    failed = true;
                    break;
                }
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
                if (c == 0 && mine.size() == 1) {
                    response_size = line.size() + 1;
                    if (line.find("\"ok\":false") != std::string::npos) {
                        std::fprintf(stderr, "error answer: %s\n", line.c_str());
                        failed = true;
                        break;
                    }
                }
            }
            ::close(fd);
        });
    }
    for (auto& thread : threads) thread.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    if (failed) return 1;
    std::vector<double> all;
    for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    auto percentile = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))]; };
    std::printf("{\"clients\":%d,\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f,"
                "\"request_bytes\":%zu,\"response_bytes\":%zu}\n",
                options.clients, all.size(), elapsed, all.size() / elapsed, percentile(0.5), percentile(0.99),
                request.size(), response_size);
    return 0;
}
