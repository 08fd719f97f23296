// The real tokend binary, started and stopped as an operator would.
#include "child_process.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tokend {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

// Port 0: these daemons run beside other tests. The tests without a config
// file use the embedded default's fixed port 6001, which CMakeLists.txt
// serializes with a ctest resource lock.
constexpr const char* kMemoryOnPortZero = "store:\n  plugin: memory\nhttp:\n  listen: 127.0.0.1:0\n";

class DaemonProcess : public testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/tokend-daemon-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write_file(const std::string& name, const std::string& text) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        return path;
    }

    std::unique_ptr<ChildProcess> start(std::vector<std::string> args) {
        args.insert(args.begin(), {TOKEND_DAEMON_PATH, "--plugin-dir", TOKEND_BUILD_PLUGIN_DIR});
        return ChildProcess::start(args, {{"STATE_DIRECTORY", ""}}, dir_);
    }

    std::string dir_;
};

std::string read_all(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

TEST_F(DaemonProcess, StopsCleanlyOnSigint) {
    const auto config = write_file("tokend.yml", kMemoryOnPortZero);
    auto daemon = start({"-c", config});
    ASSERT_TRUE(daemon->wait_for_output("running", 10s)) << daemon->output();
    daemon->send_signal(SIGINT);
    EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
    EXPECT_NE(daemon->output().find("SIGINT received: shutting down"), std::string::npos);
    EXPECT_NE(daemon->output().find("tokend stopped"), std::string::npos);
}

TEST_F(DaemonProcess, StopsCleanlyOnSigterm) {
    const auto config = write_file("tokend.yml", kMemoryOnPortZero);
    auto daemon = start({"-c", config});
    ASSERT_TRUE(daemon->wait_for_output("running", 10s)) << daemon->output();
    daemon->send_signal(SIGTERM);
    EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

TEST_F(DaemonProcess, SurvivesSigpipe) {
    const auto config = write_file("tokend.yml", kMemoryOnPortZero);
    auto daemon = start({"-c", config});
    ASSERT_TRUE(daemon->wait_for_output("running", 10s)) << daemon->output();
    daemon->send_signal(SIGPIPE);
    daemon->send_signal(SIGINT);
    EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

TEST_F(DaemonProcess, EmbeddedDefaultUsesTheYamlStoreUnderState) {
    auto daemon = start({});
    ASSERT_TRUE(daemon->wait_for_output("running", 10s)) << daemon->output();
    daemon->send_signal(SIGINT);
    ASSERT_EQ(daemon->wait(10s), 0) << daemon->output();
    EXPECT_NE(daemon->output().find("store plugin yaml"), std::string::npos) << daemon->output();
    struct stat info {};
    ASSERT_EQ(::stat((dir_ + "/state").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(DaemonProcess, UnknownConfigKeyIsFatalWithItsLine) {
    const auto config = write_file("tokend.yml", "log:\n  level: info\nstore:\n  plugin: memory\n  colour: x\n");
    auto daemon = start({"-c", config});
    EXPECT_EQ(daemon->wait(10s), 2);
    EXPECT_NE(daemon->output().find("tokend.yml:5: unknown key 'colour' in 'store'"), std::string::npos)
        << daemon->output();
}

TEST_F(DaemonProcess, MissingPluginIsFatalAndSaysWhere) {
    const auto config = write_file("tokend.yml", "store:\n  plugin: nosuch\n");
    auto daemon = start({"-c", config});
    EXPECT_EQ(daemon->wait(10s), 2);
    EXPECT_NE(daemon->output().find("tokend_store_nosuch.so): cannot open"), std::string::npos)
        << daemon->output();
}

TEST_F(DaemonProcess, CorruptStoreFileIsFatalAndLeftAlone) {
    const std::string corrupt = "u1:\n  user_id: \"u1\"\n  tokens: {access_token: [\n";
    std::filesystem::create_directories(dir_ + "/state");
    const auto users = write_file("state/users.yml", corrupt);
    auto daemon = start({});
    EXPECT_EQ(daemon->wait(10s), 2) << daemon->output();
    EXPECT_NE(daemon->output().find("users.yml"), std::string::npos) << daemon->output();
    EXPECT_NE(daemon->output().find("corrupt"), std::string::npos) << daemon->output();
    EXPECT_EQ(read_all(users), corrupt);
}

TEST_F(DaemonProcess, CheckConfigValidatesWithoutStarting) {
    const auto config = write_file("tokend.yml", kMemoryOnPortZero);
    auto daemon = start({"-c", config, "--check-config"});
    EXPECT_EQ(daemon->wait(10s), 0);
    EXPECT_NE(daemon->output().find(": ok"), std::string::npos);
}

}  // namespace
}  // namespace tokend
