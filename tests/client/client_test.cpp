// The C client library against the real daemon (memory store), plus the
// transport's failure paths against sockets the test controls.
#include <tokend/client.h>

#include "child_process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using namespace std::chrono_literals;
using tokend::test::ChildProcess;

class ClientTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        char pattern[] = "/tmp/tokend-client-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        std::ofstream(dir_ + "/tokend.yml") << "state_dir: " << dir_ << "/state\nruntime_dir: " << dir_
                                            << "/run\nstore: {plugin: memory}\nhttp: {listen: 127.0.0.1:0}\n";
        daemon_ = ChildProcess::start({TOKEND_DAEMON_PATH, "-c", dir_ + "/tokend.yml", "--plugin-dir",
                                       TOKEND_BUILD_PLUGIN_DIR});
        ASSERT_TRUE(daemon_->wait_for_output("running", 20s)) << daemon_->output();
        socket_ = dir_ + "/run/tokend.sock";
    }
    static void TearDownTestSuite() {
        daemon_->send_signal(SIGTERM);
        EXPECT_EQ(daemon_->wait(20s), 0) << daemon_->output();
        daemon_.reset();
        std::filesystem::remove_all(dir_);
    }

    static tokend_client* connect(size_t max_line = 0, int timeout_ms = 10000) {
        char error[256] = "";
        tokend_client* client = tokend_client_connect(socket_.c_str(), timeout_ms, max_line, error, sizeof error);
        EXPECT_NE(client, nullptr) << error;
        return client;
    }

    static nlohmann::json call(tokend_client* client, const std::string& request) {
        const char* line = nullptr;
        size_t length = 0;
        const int rc = tokend_client_call(client, request.data(), request.size(), &line, &length);
        EXPECT_EQ(rc, 0) << tokend_client_error(client);
        return rc == 0 ? nlohmann::json::parse(std::string(line, length)) : nlohmann::json();
    }

    static inline std::string dir_, socket_;
    static inline std::unique_ptr<ChildProcess> daemon_;
};

TEST_F(ClientTest, CallsAnOperation) {
    tokend_client* client = connect();
    auto response = call(client, R"({"id":1,"op":"ping"})");
    EXPECT_EQ(response["ok"], true);
    EXPECT_EQ(response["result"]["protocol"], 1);
    EXPECT_STREQ(tokend_client_socket_path(client), socket_.c_str());
    tokend_client_close(client);
}

TEST_F(ClientTest, SetThenGetToken) {
    tokend_client* client = connect();
    EXPECT_EQ(call(client, R"({"op":"set_user_context","user_id":"c1","user_context":{"user_id":"c1","tokens":{"access_token":"C-AT","expires_at":"2099-01-01T00:00:00+00:00"}}})")["ok"], true);
    auto token = call(client, R"({"op":"get_token","user_id":"c1"})");
    EXPECT_EQ(token["result"]["access_token"], "C-AT");
    EXPECT_EQ(call(client, R"({"op":"get_token","user_id":"nobody"})")["error"]["code"], "not_found");
    tokend_client_close(client);
}

TEST_F(ClientTest, PipelinesTenThousandRequests) {
    tokend_client* client = connect();
    // All requests first, then all answers: tokend queues the answers meanwhile.
    for (int i = 0; i < 10000; ++i) {
        const std::string request = "{\"id\":" + std::to_string(i) + ",\"op\":\"ping\"}";
        ASSERT_EQ(tokend_client_send(client, request.data(), request.size()), 0) << tokend_client_error(client);
    }
    for (int i = 0; i < 10000; ++i) {
        const char* line = nullptr;
        size_t length = 0;
        ASSERT_EQ(tokend_client_read_line(client, &line, &length), 0) << tokend_client_error(client);
        ASSERT_EQ(nlohmann::json::parse(std::string(line, length))["id"], i);
    }
    tokend_client_close(client);
}

TEST_F(ClientTest, RefusesARequestWithANewline) {
    tokend_client* client = connect();
    EXPECT_EQ(tokend_client_send(client, "{\"op\":\n\"ping\"}", 14), -EINVAL);
    tokend_client_close(client);
}

TEST_F(ClientTest, ResponseOverTheLimitIsAnError) {
    tokend_client* client = connect(/*max_line=*/64);
    const char* line = nullptr;
    size_t length = 0;
    const std::string request = R"({"op":"stats"})";
    EXPECT_EQ(tokend_client_call(client, request.data(), request.size(), &line, &length), -EMSGSIZE);
    EXPECT_NE(std::string(tokend_client_error(client)).find("over the limit"), std::string::npos);
    tokend_client_close(client);
}

TEST(ClientTransport, ConnectFailureSaysWhy) {
    char error[256] = "";
    EXPECT_EQ(tokend_client_connect("/nonexistent/tokend.sock", 1000, 0, error, sizeof error), nullptr);
    EXPECT_NE(std::string(error).find("cannot connect to /nonexistent/tokend.sock"), std::string::npos) << error;
    EXPECT_EQ(tokend_client_connect(std::string(200, 'x').c_str(), 1000, 0, error, sizeof error), nullptr);
    EXPECT_NE(std::string(error).find("too long"), std::string::npos);
    tokend_client_close(nullptr);  // allowed
}

// A server that accepts and never answers, then one that hangs up.
TEST(ClientTransport, TimesOutAndNoticesAClosedConnection) {
    const std::string path = "/tmp/tokend-client-silent-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 4), 0);

    char error[256] = "";
    tokend_client* client = tokend_client_connect(path.c_str(), 200, 0, error, sizeof error);
    ASSERT_NE(client, nullptr) << error;
    const int peer = ::accept(listener, nullptr, nullptr);
    const char* line = nullptr;
    size_t length = 0;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(tokend_client_call(client, "{\"op\":\"ping\"}", 13, &line, &length), -ETIMEDOUT);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    ::close(peer);
    EXPECT_EQ(tokend_client_read_line(client, &line, &length), -ECONNRESET);
    tokend_client_close(client);
    ::close(listener);
    ::unlink(path.c_str());
}

}  // namespace
