// A redis-server of the test's own, on a temp Unix socket and a loopback port
// picked at run time (retried if another process takes it first), without
// persistence; with the faults the tests need. tests/support/redis_server.py is
// the same for the Python tests and ctest wrappers.
#pragma once

#include "child_process.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

namespace tokend::redis_test {

// The answer to a raw command: a string, an integer, nil, an array of strings or an error.
struct RawReply {
    int type = REDIS_REPLY_NIL;
    std::string text;
    long long integer = 0;
    std::vector<std::string> items;
};

class RedisTestServer {
public:
    explicit RedisTestServer(std::vector<std::string> extra_args = {});
    ~RedisTestServer();

    const std::string& socket_path() const { return socket_; }
    int port() const { return port_; }
    std::string unix_url() const { return "unix://" + socket_; }
    std::string tcp_url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

    void kill();             // SIGKILL; everything stored is gone
    void restart();          // again on the same socket and port
    void freeze();           // SIGSTOP
    void thaw();             // SIGCONT
    void shutdown_nosave();  // SHUTDOWN NOSAVE, waits for the exit

    // One command on a fresh connection over the Unix socket (binary-safe).
    RawReply command(const std::vector<std::string>& args);

private:
    bool spawn(int port);

    std::string dir_;
    std::string socket_;
    int port_ = 0;
    std::vector<std::string> extra_args_;
    std::unique_ptr<test::ChildProcess> process_;
};

}  // namespace tokend::redis_test
