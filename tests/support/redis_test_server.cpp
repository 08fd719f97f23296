#include "redis_test_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace tokend::redis_test {
namespace {

using namespace std::chrono_literals;

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

RawReply convert(const redisReply& reply) {
    RawReply out;
    out.type = reply.type;
    if (reply.str != nullptr) out.text.assign(reply.str, reply.len);
    out.integer = reply.integer;
    for (size_t i = 0; i < reply.elements; ++i) {
        const redisReply& item = *reply.element[i];
        out.items.emplace_back(item.str != nullptr ? std::string(item.str, item.len)
                                                   : std::to_string(item.integer));
    }
    return out;
}

}  // namespace

RedisTestServer::RedisTestServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
    char pattern[] = "/tmp/tokend-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    socket_ = dir_ + "/redis.sock";
    for (int attempt = 0; attempt < 10; ++attempt) {
        const int port = free_port();
        if (spawn(port)) {
            port_ = port;
            return;
        }
    }
    throw std::runtime_error("redis-server would not start");
}

RedisTestServer::~RedisTestServer() {
    if (process_) {
        process_->send_signal(SIGCONT);
        process_->send_signal(SIGTERM);
        process_->wait(10s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

bool RedisTestServer::spawn(int port) {
    std::vector<std::string> argv{TOKEND_REDIS_SERVER, "--port", std::to_string(port), "--bind",
                                  "127.0.0.1", "--unixsocket", socket_, "--unixsocketperm", "700",
                                  "--save", "", "--appendonly", "no", "--dir", dir_, "--logfile", ""};
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    process_ = test::ChildProcess::start(argv);
    // Ready when it says so; a taken port makes it exit instead.
    if (process_->wait_for_output("Ready to accept connections", 10s)) return true;
    process_->send_signal(SIGKILL);
    process_->wait(10s);
    process_.reset();
    return false;
}

void RedisTestServer::kill() {
    process_->send_signal(SIGKILL);
    process_->wait(10s);
    process_.reset();
}

void RedisTestServer::restart() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        if (spawn(port_)) return;
        std::this_thread::sleep_for(100ms);  // the port may still be in TIME_WAIT's way
    }
    throw std::runtime_error("redis-server would not restart on port " + std::to_string(port_));
}

void RedisTestServer::freeze() { process_->send_signal(SIGSTOP); }
void RedisTestServer::thaw() { process_->send_signal(SIGCONT); }

void RedisTestServer::shutdown_nosave() {
    redisContext* context = redisConnectUnix(socket_.c_str());
    if (context != nullptr) {
        void* reply = redisCommand(context, "SHUTDOWN NOSAVE");
        if (reply != nullptr) freeReplyObject(reply);
        redisFree(context);
    }
    process_->wait(10s);
    process_.reset();
}

RawReply RedisTestServer::command(const std::vector<std::string>& args) {
    redisContext* context = redisConnectUnix(socket_.c_str());
    if (context == nullptr || context->err != 0) {
        if (context != nullptr) redisFree(context);
        throw std::runtime_error("cannot connect to the test redis-server");
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) {
        redisFree(context);
        throw std::runtime_error("the test redis-server did not answer");
    }
    RawReply out = convert(*reply);
    freeReplyObject(reply);
    redisFree(context);
    return out;
}

}  // namespace tokend::redis_test
