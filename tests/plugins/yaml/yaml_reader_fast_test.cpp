// The fast reader (plugins/yaml/yaml_reader_fast) against yaml-cpp's reader: on files
// the original's PyYAML wrote (tests/plugins/yaml/python_varied_stores.py and
// python_write_store.py), files tokend's writer wrote, the fuzz corpus and
// hand-written cases, parse_store_file gives exactly what
// parse_store_file_with_yaml_cpp gives (entries, or the CorruptFile message), and
// the fast reader takes the files the two writers make of Webex contexts.
#include "entry.h"
#include "yaml_reader.h"
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

namespace tokend::yaml_store {
namespace {

using Entries = std::vector<std::pair<std::string, EntryPtr>>;

struct Outcome {
    std::optional<Entries> entries;
    std::string error;  // the CorruptFile message
};

template <typename Read>
Outcome outcome(Read read) {
    try {
        return {read(), ""};
    } catch (const CorruptFile& error) {
        return {std::nullopt, error.what()};
    }
}

// Checks that both readers agree on text; returns whether the fast reader took it.
bool expect_same_as_yaml_cpp(const std::string& text, const std::string& label) {
    SCOPED_TRACE(label);
    Declined declined;
    const Outcome fast = outcome([&] { return parse_store_file(text, "users.yml", &declined); });
    const Outcome reference = outcome([&] { return parse_store_file_with_yaml_cpp(text, "users.yml"); });
    EXPECT_EQ(fast.error, reference.error);
    EXPECT_EQ(fast.entries.has_value(), reference.entries.has_value());
    if (fast.entries && reference.entries) {
        EXPECT_EQ(fast.entries->size(), reference.entries->size());
        for (size_t i = 0; i < fast.entries->size() && i < reference.entries->size(); ++i) {
            const auto& [key, entry] = (*fast.entries)[i];
            const auto& [reference_key, reference_entry] = (*reference.entries)[i];
            EXPECT_EQ(key, reference_key);
            EXPECT_EQ(entry->value, reference_entry->value) << key;
            EXPECT_EQ(entry->yaml, reference_entry->yaml) << key;
        }
    }
    const bool took = parse_store_file_fast(text, nullptr).has_value();
    EXPECT_EQ(took, declined.line == 0) << declined.what;
    return took;
}

// Reads text, which the fast reader must take.
Entries fast_entries(const std::string& text) {
    Declined declined;
    auto entries = parse_store_file_fast(text, &declined);
    EXPECT_TRUE(entries.has_value()) << "declined at line " << declined.line << ": " << declined.what;
    return entries ? std::move(*entries) : Entries{};
}

TEST(YamlReaderFast, ReadsWhatThePythonBotWroteAsYamlCppDoes) {
    yaml_test::TempDir dir;
    std::string output;
    ASSERT_EQ(yaml_test::run_python({yaml_test::script_path("python_varied_stores.py"), dir.path(), "200", "16"},
                                    &output),
              0)
        << output;
    for (const char* mode : {"safe_dump", "dump"}) {
        const std::string path = dir.file(std::string("bot-") + mode + ".yml");
        ASSERT_EQ(yaml_test::run_python({yaml_test::script_path("python_write_store.py"), mode, path}, &output), 0)
            << output;
    }
    size_t files = 0;
    size_t taken = 0;
    for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
        const std::string name = file.path().filename();
        const bool took = expect_same_as_yaml_cpp(yaml_test::read_file(file.path()), name);
        ++files;
        taken += took ? 1 : 0;
        // What the bot wrote of Webex contexts must not need yaml-cpp.
        if (name.rfind("typical-", 0) == 0 || name.rfind("bot-", 0) == 0) {
            EXPECT_TRUE(took) << name;
        }
    }
    EXPECT_EQ(files, 204u);
    // The varied files hold every awkward string PyYAML can be given; some the fast
    // reader takes, the others it leaves to yaml-cpp.
    EXPECT_GT(taken, 20u);
}

TEST(YamlReaderFast, ReadsWhatTokendWroteAsYamlCppDoes) {
    // Compact JSON as tokend stores it (escapes as nlohmann writes them).
    std::vector<std::string> values = {
        R"({"user_id":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8000000000001","tokens":{"access_token":"NjE3_PF84","expires_at":"2026-12-12T10:00:00.123456+00:00","refresh_token":null,"refresh_token_expires_at":"2027-03-12T10:00:00+00:00","token_type":"Bearer","scope":"spark:kms spark:people_read"}})",
        R"({"user_id":"u","tokens":{},"extra":{"n":-42,"big":18446744073709551615,"t":true,"f":false,"e":[]}})",
        R"({"user_id":"caf\u00e9 \ud83d\ude00","tokens":{"a\"b":"say \"hi\"\\","tab":"\t\n\r\u0000\u007f\u0085\u2028\ufeff"}})",
        R"({"user_id":"12345","yes":"yes","null":"null","":"","1.5":"1.5","k:v":"a: b #c","-":"- x"})",
        R"({"user_id":"u","float":1.5,"tiny":1e-7,"nested":{"deeper":{"deepest":{}}}})",
    };
    for (std::string& value : values) value = nlohmann::ordered_json::parse(value).dump();
    std::string file =
        "# tokend users: user id -> user context. Rewritten atomically by tokend;\n"
        "# edit only while tokend is stopped.\n";
    for (size_t i = 0; i < values.size(); ++i) {
        const std::string key = i == 3 ? "12345" : "user " + std::to_string(i);
        const EntryPtr entry = make_entry(key, values[i]);
        ASSERT_EQ(entry->yaml.find("!!binary"), std::string::npos) << entry->yaml;
        file += entry->yaml;
    }
    file += make_entry("opaque", "not json \xff")->yaml;
    EXPECT_TRUE(expect_same_as_yaml_cpp(file, "tokend's writer"));
    const Entries entries = fast_entries(file);
    ASSERT_EQ(entries.size(), values.size() + 1);
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(entries[i].second->value, values[i]);
    EXPECT_EQ(entries.back().second->value, "not json \xff");
}

TEST(YamlReaderFast, ReadsTheFuzzCorpusAsYamlCppDoes) {
    size_t files = 0;
    for (const auto& file : std::filesystem::directory_iterator(YAML_READER_CORPUS_DIR)) {
        expect_same_as_yaml_cpp(yaml_test::read_file(file.path()), file.path().filename());
        ++files;
    }
    EXPECT_GT(files, 30u);
}

// What the fast reader takes, and reads as yaml-cpp does.
TEST(YamlReaderFast, TakesTheSubset) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"empty", ""},
        {"comments and empty lines only", "# users\n\n# more\n"},
        {"an empty mapping entry", "a: {}\n"},
        {"no final line break", "a:\n  user_id: a"},
        {"plain, quoted and null values",
         "u:\n  a: plain text\n  b: 'single ''quoted'''\n  c: \"double \\\"quoted\\\" \\t \\x41 \\u00e9 \\U0001F600 \\/\"\n"
         "  d: null\n  e: ~\n  f:\n  g: ''\n  h: \"\"\n"},
        {"core schema scalars", "u:\n  a: 123\n  b: -7\n  c: true\n  d: False\n  e: 0x1f\n  f: 99999999999999999999\n"
                                "  g: 2026-12-12 10:00:00.123456+00:00\n  h: .inf\n  i: +5\n"},
        {"floats go to the tree builder", "u:\n  a: 1.5\n  b: 1.0e+20\n  c: -0.0\n"},
        {"a key twice keeps its first place and last value", "u:\n  a: 1\n  b: 2\n  a: 3\n  c:\n    x: 1\n    x: 2\n"},
        {"an entry twice is there twice", "u:\n  a: 1\nv: {}\nu:\n  a: 2\n"},
        {"a folded plain scalar", "u:\n  scope: a b c\n    d e\n     f\n  next: x\n"},
        {"deep and odd indentation", "u:\n    a:\n         b:\n          c: d\n         e: f\n    g: h\n"},
        {"empty collections", "u:\n  a: {}\n  b: []\n"},
        {"quoted keys", "'12345':\n  'it''s': 1\n  \"caf\\u00e9\": 2\n  \"\": 3\n\"x y\": {}\n"},
        {"plain keys of every kind", "a-b.c/d+e=f@g$h_i:\n  _k: 1\n  K9: 2\n"},
        {"raw UTF-8 in quoted scalars", "u:\n  a: \"caf\xc3\xa9 \xf0\x9f\x98\x80\"\n  b: '\xe2\x80\xa8'\n"},
        {"escapes giving control characters", "u:\n  a: \"\\0\\a\\b\\v\\f\\e\\n\\r\\ \"\n"},
        {"binary entries", "k: !!binary \"dXNlci0z\"\nl: !!binary \"\"\n"},
        {"plain scalars with flow characters inside", "u:\n  a: x,y[z]{w}\n  b: a:b\n  c: 50%\n  d: -1.5e3\n"},
    };
    for (const auto& [label, text] : cases) EXPECT_TRUE(expect_same_as_yaml_cpp(text, label)) << label;
}

// What it leaves to yaml-cpp, which then reads (or refuses) it as before.
TEST(YamlReaderFast, LeavesTheRestToYamlCpp) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"an alias", "a: &x\n  user_id: a\nb: *x\n"},
        {"an anchor", "a: &x\n  user_id: a\n"},
        {"two documents", "a: {}\n---\nb: {}\n"},
        {"a document marker", "---\na:\n  user_id: a\n"},
        {"a comment after an entry", "a:\n  user_id: a\n# b\n"},
        {"a trailing comment", "a:\n  user_id: a # id\n"},
        {"a blank line between entries", "a:\n  user_id: a\n\nb: {}\n"},
        {"a tab", "a:\n\tuser_id: a\n"},
        {"CRLF", "a:\r\n  user_id: a\r\n"},
        {"trailing spaces", "a:\n  user_id: a \n"},
        {"a sequence", "a:\n  list:\n  - 1\n  - 2\n"},
        {"a block scalar", "a:\n  text: |\n    x\n"},
        {"a flow mapping with content", "a: {user_id: a}\n"},
        {"a multi-line quoted scalar", "a:\n  b: \"x\n    y\"\n"},
        {"an escaped line break", "a:\n  b: \"x\\\n    y\"\n"},
        {"the \\N escape (one byte in yaml-cpp 0.7)", "a:\n  b: \"\\N\"\n"},
        {"a surrogate escape", "a:\n  b: \"\\ud800\"\n"},
        {"an unknown escape", "a:\n  b: \"\\q\"\n"},
        {"a null entry", "a:\nb: {}\n"},
        {"a scalar entry", "a: 1\n"},
        {"a top level scalar", "just text\n"},
        {"a top level indented", "  a:\n    b: 1\n"},
        {"a line between two levels", "a:\n    b: 1\n  c: 2\n"},
        {"a deeper line after a scalar", "a:\n  b: 'x'\n   c: 1\n"},
        {"a null key", "a:\n  null: 1\n"},
        {"a tagged value", "a:\n  b: !!str 1\n"},
        {"a key without a space after the colon", "a:\n  b:c: 1\n"},
        {"a plain scalar holding ': '", "a:\n  b: c: d\n"},
        {"an explicit key", "? a\n: {}\n"},
        {"a byte order mark", "\xef\xbb\xbf" "a: {}\n"},
        {"invalid UTF-8 in a quoted scalar", "a:\n  b: \"\xff\"\n"},
        {"non-ASCII in a plain scalar", "a:\n  b: caf\xc3\xa9\n"},
        {"the empty file tokend writes", "# tokend users\n{}\n"},
    };
    for (const auto& [label, text] : cases) EXPECT_FALSE(expect_same_as_yaml_cpp(text, label)) << label;
}

TEST(YamlReaderFast, SaysWhereItGaveUp) {
    Declined declined;
    EXPECT_FALSE(parse_store_file_fast("# c\n\na:\n  b: 1\n  c: &x 2\n", &declined));
    EXPECT_EQ(declined.line, 5u);
    EXPECT_NE(declined.what.find("alias"), std::string::npos) << declined.what;
    EXPECT_FALSE(parse_store_file_fast("a:\n  b: 1\n\tc: 2\n", &declined));
    EXPECT_EQ(declined.line, 3u);
    EXPECT_NE(declined.what.find("tab"), std::string::npos) << declined.what;
}

TEST(YamlReaderFast, ReadsTheOriginalsShapeField) {
    const Entries entries = fast_entries(
        "U1:\n  tokens:\n    access_token: NjE3_PF84\n    expires_at: '2026-12-12T10:00:00.123456+00:00'\n"
        "    scope: spark:kms spark:people_read\n      spark:rooms_read\n    token_type: null\n  user_id: U1\n");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].first, "U1");
    EXPECT_EQ(entries[0].second->value,
              R"({"tokens":{"access_token":"NjE3_PF84","expires_at":"2026-12-12T10:00:00.123456+00:00",)"
              R"("scope":"spark:kms spark:people_read spark:rooms_read","token_type":null},"user_id":"U1"})");
    EXPECT_EQ(entries[0].second->yaml,
              "U1:\n  tokens:\n    access_token: \"NjE3_PF84\"\n    expires_at: \"2026-12-12T10:00:00.123456+00:00\"\n"
              "    scope: \"spark:kms spark:people_read spark:rooms_read\"\n    token_type: null\n  user_id: \"U1\"\n");
}

}  // namespace
}  // namespace tokend::yaml_store
