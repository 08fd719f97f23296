// A file the store cannot read: open fails with TOKEND_CORRUPT naming the file and
// the line, and the file is left exactly as it was.
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace tokend::yaml_test {
namespace {

const std::string kSecret = "SECRET-REFRESH-TOKEN-9c1e";

struct CorruptCase {
    const char* name;
    std::string users;  // content of users.yml
    std::string flows;  // content of users.flows.yml ("" = absent)
    std::string file;   // which file the message must name
    std::string line;   // e.g. "line 3"
};

class YamlStoreCorrupt : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(YamlStoreCorrupt, OpenFailsNamingFileAndLineAndLeavesTheBytes) {
    const CorruptCase& c = GetParam();
    TempDir dir;
    write_file(dir.file("users.yml"), c.users);
    if (!c.flows.empty()) write_file(dir.file("users.flows.yml"), c.flows);
    LogCapture log;
    std::unique_ptr<Store> store;
    const StoreStatus status = open_yaml(path_config(dir.file("users.yml")), &store, &log);
    EXPECT_EQ(status.code, StoreCode::corrupt) << status.describe();
    EXPECT_EQ(store, nullptr);
    EXPECT_NE(status.message.find(dir.file(c.file) + ": " + c.line), std::string::npos)
        << status.message;
    EXPECT_EQ(status.message.find(kSecret), std::string::npos) << status.message;
    for (const std::string& line : log.lines()) EXPECT_EQ(line.find(kSecret), std::string::npos);
    EXPECT_EQ(read_file(dir.file("users.yml")), c.users);
    if (!c.flows.empty()) {
        EXPECT_EQ(read_file(dir.file("users.flows.yml")), c.flows);
    }
    EXPECT_FALSE(file_exists(dir.file("users.yml.tmp")));
}

const std::string kGoodUser =
    "alice:\n  user_id: alice\n  tokens:\n    access_token: " + kSecret + "\n";

// The audit's "billion laughs": each level an anchored list of ten aliases of the one
// before, 10^11 strings once expanded, in about 450 bytes. First alias on line 7.
std::string billion_laughs() {
    std::string text = kGoodUser + "bomb:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int level = 1; level <= 11; ++level) {
        const std::string before = "*l" + std::to_string(level - 1);
        text += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + before;
        for (int i = 1; i < 10; ++i) text += ", " + before;
        text += "]\n";
    }
    return text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, YamlStoreCorrupt,
    ::testing::Values(
        CorruptCase{"BadYaml", kGoodUser + "bob:\n  user_id: [unclosed\n  tokens: {}\n", "",
                    "users.yml", "line 7"},
        CorruptCase{"TopLevelList", "# users\n- alice\n- " + kSecret + "\n", "", "users.yml",
                    "line 2"},
        CorruptCase{"EntryNotAMapping", kGoodUser + "bob: " + kSecret + "\n", "", "users.yml",
                    "line 5"},
        CorruptCase{"EntryIsAList", kGoodUser + "bob:\n  - " + kSecret + "\n", "", "users.yml",
                    "line 6"},
        CorruptCase{"BadTab", "alice:\n\tuser_id: " + kSecret + "\n", "", "users.yml", "line 2"},
        CorruptCase{"BillionLaughs", billion_laughs(), "", "users.yml", "line 7"},
        // An alias of a whole entry, even a harmless one, is refused the same way.
        CorruptCase{"EntryIsAnAlias", "alice: &a\n  user_id: " + kSecret + "\nbob: *a\n", "",
                    "users.yml", "line 3"},
        CorruptCase{"FlowsFileAlias", kGoodUser, "f1: &f\n  user_id: u\nf2:\n  same: *f\n",
                    "users.flows.yml", "line 4"},
        CorruptCase{"FlowsFileBroken", kGoodUser, "f1:\n  user_id: u\n  created: [\n",
                    "users.flows.yml", "line 4"}),
    [](const ::testing::TestParamInfo<CorruptCase>& info) { return std::string(info.param.name); });

TEST(YamlStoreAliases, TheMessageSaysWhatWasRefused) {
    TempDir dir;
    write_file(dir.file("users.yml"), billion_laughs());
    std::unique_ptr<Store> store;
    const StoreStatus status = open_yaml(path_config(dir.file("users.yml")), &store);
    ASSERT_EQ(status.code, StoreCode::corrupt) << status.describe();
    EXPECT_NE(status.message.find("users file " + dir.file("users.yml") + ": line 7"),
              std::string::npos)
        << status.message;
    EXPECT_NE(status.message.find("YAML alias"), std::string::npos) << status.message;
}

// Anchors without aliases expand nothing, and '*' or '&' inside values are text: such
// a file loads exactly as it reads.
TEST(YamlStoreAliases, AnchorsAndStarsInTextStillLoad) {
    TempDir dir;
    write_file(dir.file("users.yml"),
               "alice: &alice\n  user_id: alice\n  tokens: &t {scope: '*l0 &x', token_type: "
               "a*b}\nbob:\n  user_id: \"*bob\"\n  note: x & *y\n");
    std::unique_ptr<Store> store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    std::string value;
    ASSERT_EQ(store->get(Ns::user, "alice", &value).code, StoreCode::ok);
    EXPECT_EQ(value, R"({"user_id":"alice","tokens":{"scope":"*l0 &x","token_type":"a*b"}})");
    ASSERT_EQ(store->get(Ns::user, "bob", &value).code, StoreCode::ok);
    EXPECT_EQ(value, R"({"user_id":"*bob","note":"x & *y"})");
}

TEST(YamlStoreUnreadable, AFileThatCannotBeReadIsCorrupt) {
    TempDir dir;
    std::filesystem::create_directory(dir.file("users.yml"));
    std::unique_ptr<Store> store;
    const StoreStatus status = open_yaml(path_config(dir.file("users.yml")), &store);
    EXPECT_EQ(status.code, StoreCode::corrupt) << status.describe();
    EXPECT_NE(status.message.find(dir.file("users.yml")), std::string::npos) << status.message;
}

}  // namespace
}  // namespace tokend::yaml_test
