// The floors that get_token over the control socket is measured against: a
// Unix-socket server that answers every request line with a fixed line of the
// size tokend's answer has, doing no work of its own.
//
//   epoll     one thread, non-blocking sockets, level-triggered epoll: per
//             loop turn one read per ready connection and one write of every
//             answer that read asked for. What a single-threaded event loop
//             like tokend's costs at the least (the baseline).
//   threaded  a blocking thread per connection (read, write); on 2 cores it
//             serves eight clients with eight threads (the old baseline).
//
// The socket appears at PATH only once it listens (bound under a temporary
// name, then renamed), so a script may wait for the file and connect.
// Usage: control_floor --socket PATH --answer-bytes N [--mode epoll|threaded]
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

int listen_at(const std::string& path, int flags) {
    const std::string staging = path + ".tmp";
    ::unlink(staging.c_str());
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (staging.size() >= sizeof address.sun_path) die("socket path too long");
    std::strncpy(address.sun_path, staging.c_str(), sizeof address.sun_path - 1);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) die("bind");
    if (::listen(listener, 128) != 0) die("listen");
    if (::rename(staging.c_str(), path.c_str()) != 0) die("rename");
    return listener;
}

// One answer per newline read: the floor never looks at what it was asked, so
// a line split across two reads is answered when its newline arrives.
size_t count_lines(const char* data, size_t size) {
    size_t lines = 0;
    for (const char* at = data; (at = static_cast<const char*>(std::memchr(at, '\n', size - (at - data)))) != nullptr;
         ++at) {
        ++lines;
    }
    return lines;
}

void serve_epoll(const std::string& path, const std::string& answer) {
    const int listener = listen_at(path, SOCK_NONBLOCK);
    const int poller = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = listener;
    ::epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);
    std::unordered_map<int, std::string> unsent;  // answers a full socket buffer did not take
    std::string out;
    static char buffer[64 * 1024];
    epoll_event ready[64];
    for (;;) {
        const int count = ::epoll_wait(poller, ready, 64, -1);
        if (count < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < count; ++i) {
            const int fd = ready[i].data.fd;
            if (fd == listener) {
                for (int client; (client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    epoll_event added{};
                    added.events = EPOLLIN;
                    added.data.fd = client;
                    ::epoll_ctl(poller, EPOLL_CTL_ADD, client, &added);
                }
                continue;
            }
            out.clear();
            if (ready[i].events & EPOLLIN) {
                const ssize_t got = ::read(fd, buffer, sizeof buffer);
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    ::close(fd);  // also leaves the epoll set
                    unsent.erase(fd);
                    continue;
                }
                for (size_t lines = got > 0 ? count_lines(buffer, static_cast<size_t>(got)) : 0; lines > 0; --lines) {
                    out += answer;
                }
            }
            auto held = unsent.find(fd);
            if (held != unsent.end()) out.insert(0, held->second);
            if (out.empty()) continue;
            const ssize_t wrote = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
            if (wrote < 0 && errno != EAGAIN) {
                ::close(fd);
                unsent.erase(fd);
                continue;
            }
            const size_t done = wrote > 0 ? static_cast<size_t>(wrote) : 0;
            epoll_event changed{};
            changed.data.fd = fd;
            if (done < out.size()) {
                unsent[fd] = out.substr(done);
                changed.events = EPOLLIN | EPOLLOUT;
                ::epoll_ctl(poller, EPOLL_CTL_MOD, fd, &changed);
            } else if (held != unsent.end()) {
                unsent.erase(held);
                changed.events = EPOLLIN;
                ::epoll_ctl(poller, EPOLL_CTL_MOD, fd, &changed);
            }
        }
    }
}

bool send_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t wrote = ::send(fd, data, size, MSG_NOSIGNAL);
        if (wrote <= 0) return false;
        data += wrote;
        size -= static_cast<size_t>(wrote);
    }
    return true;
}

void serve_threaded(const std::string& path, const std::string& answer) {
    const int listener = listen_at(path, 0);
    for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::thread([fd, answer] {
            char buffer[64 * 1024];
            for (;;) {
                const ssize_t got = ::read(fd, buffer, sizeof buffer);
                if (got <= 0) break;
                bool ok = true;
                for (size_t lines = count_lines(buffer, static_cast<size_t>(got)); lines > 0 && ok; --lines) {
                    ok = send_all(fd, answer.data(), answer.size());
                }
                if (!ok) break;
            }
            ::close(fd);
        }).detach();
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string path, mode = "epoll";
    size_t answer_bytes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--socket") path = argv[i + 1];
        else if (arg == "--answer-bytes") answer_bytes = std::strtoul(argv[i + 1], nullptr, 10);
        else if (arg == "--mode") mode = argv[i + 1];
        else path.clear(), i = argc;
    }
    if (path.empty() || answer_bytes == 0 || (mode != "epoll" && mode != "threaded") || argc % 2 == 0) {
        std::fprintf(stderr, "usage: control_floor --socket PATH --answer-bytes N [--mode epoll|threaded]\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    const std::string answer = std::string(answer_bytes - 1, 'x') + "\n";
    if (mode == "epoll") serve_epoll(path, answer);
    else serve_threaded(path, answer);
}
