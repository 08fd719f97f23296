// Data compatibility with the original Python bot, both ways: users files written by
// PyYAML are read with the right JSON, and files tokend writes load with
// yaml.safe_load with the right Python types.
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace tokend::yaml_test {
namespace {

using nlohmann::json;

const char kWebexId[] =
    "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY";

// What yaml.safe_dump({uid: ctx.model_dump(mode="json")}) writes: sorted keys, ISO
// datetimes single-quoted, strings that look like numbers or bools quoted, long plain
// strings folded onto a continuation line.
const char kSafeDumpFile[] = R"('12345':
  tokens:
    access_token: 'yes'
    expires_at: null
    refresh_token: 'null'
    refresh_token_expires_at: null
    scope: ''
    token_type: Bearer
  user_id: '12345'
Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY:
  tokens:
    access_token: NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_1eb65fdf-9643-417f-9974-ad72cae0e10f
    expires_at: '2026-12-12T10:00:00.123456+00:00'
    refresh_token: ZmQ4Y2JmZjMtYWE2NC00ZTk1LWI5NjItOGFhNTljZDFlNzU3
    refresh_token_expires_at: '2027-03-12T10:00:00.654321+00:00'
    scope: spark:kms spark:people_read spark:rooms_read spark:messages_write spark:rooms_write
      spark:memberships_read spark:memberships_write spark:teams_read
    token_type: Bearer
  user_id: Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY
user-2:
  tokens:
    access_token: null
    expires_at: null
    refresh_token: null
    refresh_token_expires_at: null
    scope: null
    token_type: null
  user_id: user-2
)";

const char kScope[] =
    "spark:kms spark:people_read spark:rooms_read spark:messages_write spark:rooms_write "
    "spark:memberships_read spark:memberships_write spark:teams_read";

json webex_user(const std::string& expires_at, const std::string& refresh_expires_at) {
    return json{{"user_id", kWebexId},
                {"tokens",
                 {{"access_token",
                   "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_"
                   "1eb65fdf-9643-417f-9974-ad72cae0e10f"},
                  {"expires_at", expires_at},
                  {"refresh_token", "ZmQ4Y2JmZjMtYWE2NC00ZTk1LWI5NjItOGFhNTljZDFlNzU3"},
                  {"refresh_token_expires_at", refresh_expires_at},
                  {"token_type", "Bearer"},
                  {"scope", kScope}}}};
}

json expected_users(const std::string& expires_at, const std::string& refresh_expires_at) {
    return json{{kWebexId, webex_user(expires_at, refresh_expires_at)},
                {"user-2",
                 {{"user_id", "user-2"},
                  {"tokens",
                   {{"access_token", nullptr},
                    {"expires_at", nullptr},
                    {"refresh_token", nullptr},
                    {"refresh_token_expires_at", nullptr},
                    {"token_type", nullptr},
                    {"scope", nullptr}}}}},
                {"12345",
                 {{"user_id", "12345"},
                  {"tokens",
                   {{"access_token", "yes"},
                    {"expires_at", nullptr},
                    {"refresh_token", "null"},
                    {"refresh_token_expires_at", nullptr},
                    {"token_type", "Bearer"},
                    {"scope", ""}}}}}};
}

// Every user through get, as parsed JSON (object key order aside).
json users_through_get(Store& store) {
    json users = json::object();
    for (const std::string& key : all_keys(store, Ns::user)) {
        std::string value;
        EXPECT_TRUE(store.get(Ns::user, key, &value).ok()) << key;
        users[key] = json::parse(value);
    }
    return users;
}

TEST(YamlPythonCompat, ReadsAFileInTheShapeOfSafeDump) {
    TempDir dir;
    write_file(dir.file("users.yml"), kSafeDumpFile);
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(users_through_get(*store), expected_users("2026-12-12T10:00:00.123456+00:00",
                                                        "2027-03-12T10:00:00.654321+00:00"));
}

TEST(YamlPythonCompat, ReadsUnquotedDatetimesAsStrings) {
    std::string file = kSafeDumpFile;
    for (const char* quoted :
         {"'2026-12-12T10:00:00.123456+00:00'", "'2027-03-12T10:00:00.654321+00:00'"}) {
        std::string plain = std::string(quoted + 1, std::strlen(quoted) - 2);
        plain[10] = ' ';
        file.replace(file.find(quoted), std::strlen(quoted), plain);
    }
    ASSERT_NE(file.find("expires_at: 2026-12-12 10:00:00.123456+00:00\n"), std::string::npos);
    TempDir dir;
    write_file(dir.file("users.yml"), file);
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(users_through_get(*store), expected_users("2026-12-12 10:00:00.123456+00:00",
                                                        "2027-03-12 10:00:00.654321+00:00"));
}

class YamlPythonWritten : public ::testing::TestWithParam<const char*> {};

TEST_P(YamlPythonWritten, ReadsWhatPyYamlWrote) {
    TempDir dir;
    std::string output;
    ASSERT_EQ(run_python({script_path("python_write_store.py"), GetParam(), dir.file("users.yml")},
                         &output),
              0)
        << output;
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(users_through_get(*store), json::parse(output));
}

INSTANTIATE_TEST_SUITE_P(Modes, YamlPythonWritten, ::testing::Values("safe_dump", "dump"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                             return std::string(info.param);
                         });

TEST(YamlPythonCompat, PyYamlReadsWhatTokendWroteWithTheRightTypes) {
    TempDir dir;
    const json users =
        expected_users("2026-12-12T10:00:00.123456+00:00", "2027-03-12T10:00:00.654321+00:00");
    json tricky = {{"user_id", "tricky: {user} #1"},
                   {"tokens",
                    {{"access_token", "2026-12-12"},
                     {"expires_at", "2026-12-12 10:00:00"},
                     {"refresh_token", "0x1F"},
                     {"refresh_token_expires_at", "1e5"},
                     {"token_type", "~"},
                     {"scope", "line\nbreak \"quoted\" caf\u00e9 \U0001F511"}}},
                   {"extra",
                    {{"count", 3},
                     {"ratio", 0.25},
                     {"big", 1e300},
                     {"on", true},
                     {"list", {"a", 1, nullptr}},
                     {"empty", json::object()}}}};
    const json flow = {{"user_id", kWebexId}, {"created", "2026-12-12T10:00:00.123456+00:00"}};
    {
        auto store = open_yaml_or_fail(dir.file("users.yml"));
        ASSERT_NE(store, nullptr);
        for (const auto& [key, context] : users.items()) {
            ASSERT_TRUE(store->put(Ns::user, key, context.dump()).ok());
        }
        ASSERT_TRUE(store->put(Ns::user, "on", tricky.dump()).ok());
        ASSERT_TRUE(store->put(Ns::flow, "0f8fad5b-d9cb-469f-a165-70867728950e", flow.dump()).ok());
        ASSERT_TRUE(store->put(Ns::flow, "raw", std::string("\x00\xff not json", 11)).ok());
    }
    std::string output;
    ASSERT_EQ(run_python({script_path("python_read_store.py"), dir.file("users.yml"),
                          dir.file("users.flows.yml")},
                         &output),
              0)
        << output << "\n--- users.yml:\n"
        << read_file(dir.file("users.yml"));
    const json read = json::parse(output);
    json expected = users;
    expected["on"] = tricky;
    EXPECT_EQ(read["users"], expected);
    EXPECT_EQ(read["flows"]["0f8fad5b-d9cb-469f-a165-70867728950e"], flow);
    EXPECT_EQ(read["flows"]["raw"], json({{"base64", "AP8gbm90IGpzb24="}}));
}

}  // namespace
}  // namespace tokend::yaml_test
