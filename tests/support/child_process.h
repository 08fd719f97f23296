// Runs a real program (the daemon, a crash writer) for a test: merged
// stdout/stderr captured, signals, exit status with time limits. Never leaves
// a process behind: the destructor kills what still runs.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::test {

class ChildProcess {
public:
    // Starts argv[0] (a path) with the current environment plus `env`, in `cwd` if
    // given. Throws std::runtime_error if it cannot be started.
    static std::unique_ptr<ChildProcess> start(const std::vector<std::string>& argv,
                                               const std::map<std::string, std::string>& env = {},
                                               const std::string& cwd = "");
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Reads output until it contains `text` (true) or the time is up or the
    // output ends (false).
    bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout);
    // Everything captured so far (reads what is available without waiting).
    const std::string& output();

    int pid() const { return pid_; }
    void send_signal(int signum);
    // Waits for exit and returns the exit code, 128 + signal if killed, or -1 if
    // it still runs after `timeout`. Captures the remaining output.
    int wait(std::chrono::milliseconds timeout);

private:
    ChildProcess() = default;
    // Reads once from the pipe, waiting up to `timeout`; false at end of output.
    bool read_some(std::chrono::milliseconds timeout);

    int pid_ = -1;
    int output_fd_ = -1;
    bool exited_ = false;
    int exit_status_ = -1;
    std::string output_;
};

}  // namespace tokend::test
