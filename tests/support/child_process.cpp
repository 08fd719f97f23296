#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tokend::test {

using Clock = std::chrono::steady_clock;

std::unique_ptr<ChildProcess> ChildProcess::start(const std::vector<std::string>& argv,
                                                  const std::map<std::string, std::string>& env,
                                                  const std::string& cwd) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    // Build everything the child needs before fork: only async-signal-safe calls after it.
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view item(*entry);
        const auto name = item.substr(0, item.find('='));
        if (env.find(std::string(name)) == env.end()) env_strings.emplace_back(item);
    }
    for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
    std::vector<char*> env_ptrs, arg_ptrs;
    for (auto& item : env_strings) env_ptrs.push_back(item.data());
    env_ptrs.push_back(nullptr);
    std::vector<std::string> args = argv;
    for (auto& item : args) arg_ptrs.push_back(item.data());
    arg_ptrs.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    std::unique_ptr<ChildProcess> child(new ChildProcess());
    child->pid_ = pid;
    child->output_fd_ = fds[0];
    return child;
}

ChildProcess::~ChildProcess() {
    if (!exited_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (output_fd_ >= 0) ::close(output_fd_);
}

bool ChildProcess::read_some(std::chrono::milliseconds timeout) {
    if (output_fd_ < 0) return false;
    pollfd item{output_fd_, POLLIN, 0};
    const int ready = ::poll(&item, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return ready == 0;  // timeout: nothing yet, but not ended
    char buffer[4096];
    const ssize_t got = ::read(output_fd_, buffer, sizeof buffer);
    if (got > 0) {
        output_.append(buffer, static_cast<size_t>(got));
        return true;
    }
    if (got < 0 && errno == EINTR) return true;
    ::close(output_fd_);
    output_fd_ = -1;
    return false;
}

bool ChildProcess::wait_for_output(std::string_view text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        if (!read_some(std::min(left, std::chrono::milliseconds(100))) && output_fd_ < 0) {
            return output_.find(text) != std::string::npos;
        }
    }
    return true;
}

const std::string& ChildProcess::output() {
    while (output_fd_ >= 0) {
        pollfd item{output_fd_, POLLIN, 0};
        if (::poll(&item, 1, 0) <= 0) break;
        if (!read_some(std::chrono::milliseconds(0))) break;
    }
    return output_;
}

void ChildProcess::send_signal(int signum) {
    if (!exited_) ::kill(pid_, signum);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!exited_) {
        int status = 0;
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            exited_ = true;
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (Clock::now() >= deadline) return -1;
        read_some(std::chrono::milliseconds(10));
    }
    while (output_fd_ >= 0 && read_some(std::chrono::milliseconds(200))) {
    }
    return exit_status_;
}

}  // namespace tokend::test
