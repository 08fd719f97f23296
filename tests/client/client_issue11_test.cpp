// Issue 11's protocol additions through the C client against the real daemon
// (memory store, an integration whose provider is never dialed: these
// operations only store flows and sign links): grant-safe set_user_context,
// start_flow without PKCE, auth_link.
#include <tokend/client.h>

#include "child_process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using tokend::test::ChildProcess;

class ClientIssue11Test : public testing::Test {
protected:
    static void SetUpTestSuite() {
        char pattern[] = "/tmp/tokend-c11-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        std::ofstream(dir_ + "/secret") << "client-secret\n";
        std::ofstream(dir_ + "/tokend.yml")
            << "state_dir: " << dir_ << "/state\nruntime_dir: " << dir_
            << "/run\nstore: {plugin: memory}\nhttp: {listen: 127.0.0.1:0}\n"
               "integration:\n  client_id: C1\n  client_secret: {file: "
            << dir_ << "/secret}\n  redirect_url: https://bot.example.com/tokend/redirect\n"
                       "  auth_service: http://127.0.0.1:9/v1/authorize\n  token_service: http://127.0.0.1:9/v1/token\n"
                       "  api_base: http://127.0.0.1:9/v1\nlinks: {ttl: 3600}\n";
        daemon_ = ChildProcess::start({TOKEND_DAEMON_PATH, "-c", dir_ + "/tokend.yml", "--plugin-dir",
                                       TOKEND_BUILD_PLUGIN_DIR});
        ASSERT_TRUE(daemon_->wait_for_output("running", 20s)) << daemon_->output();
    }
    static void TearDownTestSuite() {
        daemon_->send_signal(SIGTERM);
        EXPECT_EQ(daemon_->wait(20s), 0) << daemon_->output();
        daemon_.reset();
        std::filesystem::remove_all(dir_);
    }

    void SetUp() override {
        char error[256] = "";
        client_ = tokend_client_connect((dir_ + "/run/tokend.sock").c_str(), 10000, 0, error, sizeof error);
        ASSERT_NE(client_, nullptr) << error;
    }
    void TearDown() override { tokend_client_close(client_); }

    json call(const json& request) {
        const std::string text = request.dump();
        const char* line = nullptr;
        size_t length = 0;
        const int rc = tokend_client_call(client_, text.data(), text.size(), &line, &length);
        EXPECT_EQ(rc, 0) << tokend_client_error(client_);
        return rc == 0 ? json::parse(std::string(line, length)) : json();
    }
    json result(const json& request) {
        json response = call(request);
        EXPECT_EQ(response["ok"], true) << response.dump();
        return response["result"];
    }

    static json context(const std::string& user, const std::string& access, const std::string& expires,
                        const json& refresh) {
        return {{"user_id", user},
                {"tokens", {{"access_token", access}, {"expires_at", expires}, {"refresh_token", refresh}}}};
    }
    json set(const std::string& user, const json& written, const json& flags = json::object()) {
        json request = {{"op", "set_user_context"}, {"user_id", user}, {"user_context", written}};
        request.update(flags);
        return result(request);
    }

    static inline std::string dir_;
    static inline std::unique_ptr<ChildProcess> daemon_;
    tokend_client* client_ = nullptr;
};

const char* kEarly = "2099-01-01T00:00:00+00:00";
const char* kLate = "2099-06-01T00:00:00+00:00";

TEST_F(ClientIssue11Test, AWithheldRefreshTokenIsKeptAndClearingIsExplicit) {
    EXPECT_EQ(set("g1", context("g1", "AT", kLate, "RT")), (json{{"tokens", "written"}, {"refresh_token", "written"}}));
    EXPECT_EQ(set("g1", context("g1", "AT", kLate, nullptr)), (json{{"tokens", "written"}, {"refresh_token", "kept"}}));
    // The grant is still there: a refresh is attempted (and fails only because
    // the provider is not reachable), where no refresh token would say reauth_required.
    EXPECT_EQ(call({{"op", "refresh"}, {"user_id", "g1"}})["error"]["code"], "provider_error");
}

TEST_F(ClientIssue11Test, StaleCopiesForceAndClear) {
    set("g2", context("g2", "NEW", kLate, "RT2"));
    EXPECT_EQ(set("g2", context("g2", "OLD", kEarly, nullptr)), (json{{"tokens", "kept_newer"}, {"refresh_token", "kept"}}));
    EXPECT_EQ(result({{"op", "get_token"}, {"user_id", "g2"}})["access_token"], "NEW");
    EXPECT_EQ(set("g2", context("g2", "OLD", kEarly, nullptr), {{"force", true}}),
              (json{{"tokens", "written"}, {"refresh_token", "kept"}}));
    EXPECT_EQ(result({{"op", "get_token"}, {"user_id", "g2"}})["access_token"], "OLD");
    EXPECT_EQ(set("g2", context("g2", "OLD", kEarly, nullptr), {{"clear_refresh_token", true}}),
              (json{{"tokens", "written"}, {"refresh_token", "cleared"}}));
    const json refused = call({{"op", "set_user_context"}, {"user_id", "g2"}, {"user_context", context("g2", "OLD", kEarly, "RT")},
                               {"clear_refresh_token", true}});
    EXPECT_EQ(refused["error"]["code"], "bad_request");
    EXPECT_EQ(call({{"op", "refresh"}, {"user_id", "g2"}})["error"]["code"], "reauth_required");
}

TEST_F(ClientIssue11Test, StartFlowWithoutPkce) {
    const json with = result({{"op", "start_flow"}, {"user_id", "p1"}});
    EXPECT_NE(with["auth_url"].get<std::string>().find("code_challenge="), std::string::npos);
    const json without = result({{"op", "start_flow"}, {"user_id", "p1"}, {"pkce", false}});
    EXPECT_EQ(without["auth_url"].get<std::string>().find("code_challenge"), std::string::npos);
    EXPECT_NE(without["auth_url"].get<std::string>().find("state=" + without["flow_id"].get<std::string>()),
              std::string::npos);
    EXPECT_EQ(result({{"op", "stats"}})["flows"]["started_without_pkce"], 1);
}

TEST_F(ClientIssue11Test, AuthLink) {
    const json link = result({{"op", "auth_link"}, {"user_id", "l1"}});
    // Beside the configured redirect URL, behind the same proxy path.
    EXPECT_EQ(link["url"].get<std::string>().rfind("https://bot.example.com/tokend/auth?u=", 0), 0u) << link.dump();
    EXPECT_TRUE(link["expires_at"].is_string());
    EXPECT_EQ(call({{"op", "auth_link"}})["error"]["code"], "bad_request");
}

}  // namespace
