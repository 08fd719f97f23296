// `tokend --check-config`, the real binary: every problem a start would meet,
// all at once, each with file:line, exit 1; `ok` only when there is none.
#include "child_process.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace tokend {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

class CheckConfig : public testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/tokend-check-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write_file(const std::string& name, const std::string& text) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        return path;
    }

    // Runs the check on `text` (written to tokend.yml); returns the exit code.
    int check(const std::string& text, std::map<std::string, std::string> env = {}) {
        const std::string config = write_file("tokend.yml", text);
        env.emplace("STATE_DIRECTORY", "");
        env.emplace("CREDENTIALS_DIRECTORY", "");
        auto process = ChildProcess::start(
            {TOKEND_DAEMON_PATH, "--plugin-dir", TOKEND_BUILD_PLUGIN_DIR, "-c", config, "--check-config"}, env, dir_);
        const int code = process->wait(10s);
        output_ = process->output();
        return code;
    }

    bool said(const std::string& text) const { return output_.find(text) != std::string::npos; }

    std::set<std::string> files_in(const std::string& directory) const {
        std::set<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(directory)) {
            names.insert(entry.path().filename().string());
        }
        return names;
    }

    std::string dir_;
    std::string output_;
};

// The integration section as a test writes it, with its secrets in files.
std::string integration(const std::string& dir, const std::string& secret_file) {
    return "integration:\n"
           "  client_id: the-client\n"
           "  redirect_url: http://127.0.0.1:6001/redirect\n"
           "  client_secret: {file: " + dir + "/" + secret_file + "}\n";
}

TEST_F(CheckConfig, AGoodFileIsOk) {
    write_file("client_secret", "s3cret\n");
    EXPECT_EQ(check("store:\n  plugin: memory\n" + integration(dir_, "client_secret")), 0) << output_;
    EXPECT_TRUE(said("tokend.yml: ok")) << output_;
    EXPECT_FALSE(said("s3cret")) << output_;
}

TEST_F(CheckConfig, AMissingPluginIsAProblemWithItsLine) {
    EXPECT_EQ(check("log:\n  level: info\nstore:\n  plugin: nosuch\n"), 1) << output_;
    EXPECT_TRUE(said("tokend.yml:4: store plugin 'nosuch'")) << output_;
    EXPECT_TRUE(said("tokend_store_nosuch.so): cannot open")) << output_;
    EXPECT_FALSE(said(": ok")) << output_;
}

TEST_F(CheckConfig, AMisspeltPluginOptionIsNamedWithItsLine) {
    EXPECT_EQ(check("store:\n  plugin: yaml\n  options:\n    path: " + dir_ + "/users.yml\n    flows_pth: x\n"), 1)
        << output_;
    EXPECT_TRUE(said("tokend.yml:5: store.options.flows_pth: unknown option \"flows_pth\"")) << output_;
    EXPECT_FALSE(said(": ok")) << output_;
    // Nothing was opened for writing: no lock file, no users file.
    EXPECT_EQ(files_in(dir_), (std::set<std::string>{"tokend.yml"}));
}

TEST_F(CheckConfig, TheYamlStoreFilesAreCheckedWithoutBeingTouched) {
    const std::string corrupt = "u1:\n  tokens: {access_token: [\n";
    write_file("users.yml", corrupt);
    EXPECT_EQ(check("store:\n  plugin: yaml\n  options:\n    path: " + dir_ + "/users.yml\n    flows_path: " + dir_ +
                    "/missing/flows.yml\n"),
              1)
        << output_;
    EXPECT_TRUE(said("tokend.yml:4: store.options.path: users file " + dir_ + "/users.yml")) << output_;
    EXPECT_TRUE(said("tokend.yml:5: store.options.flows_path: the directory " + dir_ + "/missing")) << output_;
    EXPECT_TRUE(said("2 problems")) << output_;
    EXPECT_EQ(files_in(dir_), (std::set<std::string>{"tokend.yml", "users.yml"}));
}

TEST_F(CheckConfig, AMissingSecretFileIsAProblemWithItsLine) {
    EXPECT_EQ(check("store:\n  plugin: memory\n" + integration(dir_, "nope")), 1) << output_;
    EXPECT_TRUE(said("tokend.yml:6: integration.client_secret: cannot read " + dir_ + "/nope")) << output_;
    EXPECT_FALSE(said(": ok")) << output_;
}

TEST_F(CheckConfig, AnUnreadableCredentialIsAProblem) {
    // $CREDENTIALS_DIRECTORY/bot_token that cannot be read (a directory: even root cannot read it as a file).
    std::filesystem::create_directories(dir_ + "/credentials/bot_token");
    write_file("credentials/client_secret", "from-credentials\n");
    const std::string text = "store:\n  plugin: memory\nintegration:\n  client_id: c\n"
                             "  redirect_url: http://127.0.0.1:6001/redirect\n";
    EXPECT_EQ(check(text, {{"CREDENTIALS_DIRECTORY", dir_ + "/credentials"}}), 1) << output_;
    EXPECT_TRUE(said("integration.bot_token")) << output_;
    EXPECT_TRUE(said(dir_ + "/credentials/bot_token")) << output_;
    EXPECT_FALSE(said("from-credentials")) << output_;
}

TEST_F(CheckConfig, DuplicateKeysAreRefusedWithBothLines) {
    EXPECT_EQ(check("store:\n  plugin: memory\nlog:\n  level: info\n  level: debug\nstore:\n  plugin: memory\n"), 1)
        << output_;
    EXPECT_TRUE(said("tokend.yml:5: duplicate key 'level' (first at line 4)")) << output_;
    EXPECT_TRUE(said("tokend.yml:6: duplicate key 'store' (first at line 1)")) << output_;
    EXPECT_FALSE(said(": ok")) << output_;
}

TEST_F(CheckConfig, EveryProblemIsReportedAtOnce) {
    const std::string text = "store:\n"                              // 1
                             "  plugin: yaml\n"                      // 2
                             "  options:\n"                          // 3
                             "    path: " + dir_ + "/users.yml\n"    // 4
                             "    pth: x\n"                          // 5
                             "flows:\n"                              // 6
                             "  colour: blue\n"                      // 7
                             "  ttl: -3\n"                           // 8
                             "http:\n"                               // 9
                             "  max_connections: many\n"             // 10
                             "  idle_timeout_ms: 1\n"                // 11
                             "integration:\n"                        // 12
                             "  client_id: c\n"                      // 13
                             "  redirect_url: http://127.0.0.1:6001/redirect\n"  // 14
                             "  client_secret: {file: " + dir_ + "/nope}\n";     // 15
    EXPECT_EQ(check(text), 1) << output_;
    for (const char* expected :
         {"tokend.yml:7: unknown key 'colour' in 'flows'", "tokend.yml:8: 'flows.ttl' must be between",
          "tokend.yml:10: 'http.max_connections' must be a whole number",
          "tokend.yml:11: 'http.idle_timeout_ms' must be between", "tokend.yml:5: store.options.pth: unknown option",
          "tokend.yml:15: integration.client_secret: cannot read", "6 problems"}) {
        EXPECT_TRUE(said(expected)) << expected << " not in:\n" << output_;
    }
}

TEST_F(CheckConfig, EveryEncryptionKeyIsReadAndEachBadOneReported) {
    // 32 bytes in hex: good; 16 bytes: too short; a missing file.
    write_file("k1", std::string(64, 'a') + "\n");
    write_file("k2", std::string(32, 'b') + "\n");
    const std::string text = "store:\n  plugin: memory\n"
                             "encryption:\n"
                             "  active_key: k1\n"
                             "  keys:\n"
                             "    - {id: k1, file: " + dir_ + "/k1}\n"
                             "    - {id: k2, file: " + dir_ + "/k2}\n"
                             "    - {id: k3, file: " + dir_ + "/k3}\n";
    EXPECT_EQ(check(text), 1) << output_;
    EXPECT_TRUE(said("encryption key k2: " + dir_ + "/k2")) << output_;
    EXPECT_TRUE(said("encryption key k3")) << output_;
    EXPECT_FALSE(said("encryption key k1")) << output_;
    EXPECT_TRUE(said("2 problems")) << output_;
    EXPECT_FALSE(said(std::string(32, 'b'))) << output_;
}

TEST_F(CheckConfig, AnOldPluginThatCannotCheckIsSaidNotHidden) {
    EXPECT_EQ(check("store:\n  plugin: " TOKEND_FAULTY_STORE "\n  options: {}\n"), 0) << output_;
    EXPECT_TRUE(said("cannot check its options; they are checked when tokend opens the store")) << output_;
    EXPECT_TRUE(said("tokend.yml: ok")) << output_;
}

}  // namespace
}  // namespace tokend
