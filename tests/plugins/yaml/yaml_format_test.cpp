// The yaml store's writer and reader on their own: exact output, quoting rules, and
// that everything written reads back to the same JSON.
#include "entry.h"
#include "yaml_reader.h"
#include "yaml_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tokend::yaml_store {
namespace {

using nlohmann::ordered_json;

std::string emit(std::string_view key, const char* json) {
    return emit_mapping_entry(key, ordered_json::parse(json));
}

// Parses a one-entry file and returns the entry's value as get would.
std::string read_back(const std::string& yaml, std::string* key = nullptr) {
    auto entries = parse_store_file(yaml, "test.yml");
    EXPECT_EQ(entries.size(), 1u);
    if (entries.empty()) return {};
    if (key != nullptr) *key = entries[0].first;
    return entries[0].second->value;
}

TEST(YamlWriter, WritesAUserContextAsABlockMappingWithQuotedStrings) {
    const std::string yaml = emit("Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x", R"({
        "user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x",
        "tokens": {"access_token": "abc", "expires_at": "2026-12-12T10:00:00.123456+00:00",
                   "refresh_token": null, "refresh_token_expires_at": null,
                   "token_type": "Bearer", "scope": "spark:all spark:kms"}})");
    EXPECT_EQ(yaml,
              "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x:\n"
              "  user_id: \"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x\"\n"
              "  tokens:\n"
              "    access_token: \"abc\"\n"
              "    expires_at: \"2026-12-12T10:00:00.123456+00:00\"\n"
              "    refresh_token: null\n"
              "    refresh_token_expires_at: null\n"
              "    token_type: \"Bearer\"\n"
              "    scope: \"spark:all spark:kms\"\n");
}

TEST(YamlWriter, QuotesKeysThatAPlainScalarWouldTurnIntoSomethingElse) {
    EXPECT_EQ(emit("user-1", "{}"), "\"user-1\": {}\n");
    EXPECT_EQ(emit("123", "{}"), "\"123\": {}\n");
    EXPECT_EQ(emit("yes", "{}"), "\"yes\": {}\n");
    EXPECT_EQ(emit("null", "{}"), "\"null\": {}\n");
    EXPECT_EQ(emit("", "{}"), "\"\": {}\n");
    EXPECT_EQ(emit("plain_id_9", "{}"), "plain_id_9: {}\n");
    EXPECT_EQ(emit(std::string_view("\xff\xfe", 2), "{}"), "!!binary \"//4=\": {}\n");
}

TEST(YamlWriter, EscapesControlAndLineBreakCharacters) {
    std::string out;
    append_quoted(out, std::string_view("a\"b\\c\n\t\x01\x7f\0z", 11));
    EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\x01\\x7f\\x00z\"");
    out.clear();
    append_quoted(out,
                  "\xc3\xa9\xe2\x80\xa8\xef\xbb\xbf\xf0\x9f\x94\x91\xc2\x85");  // é LS BOM 🔑 NEL
    EXPECT_EQ(out, "\"\xc3\xa9\\u2028\\ufeff\xf0\x9f\x94\x91\\x85\"");
    EXPECT_THROW(append_quoted(out, "\xc3("), std::invalid_argument);
}

TEST(YamlWriter, WritesFloatsThatPyYamlReadsAsFloats) {
    EXPECT_EQ(emit("k", R"({"a": 1.0, "b": 1e20, "c": -0.5, "d": 1.5e-7, "e": 3})"),
              "k:\n  a: 1.0\n  b: 1.0e+20\n  c: -0.5\n  d: 1.5e-07\n  e: 3\n");
}

TEST(YamlWriter, WritesNestedCollections) {
    EXPECT_EQ(emit("k", R"({"list": [1, "two", {"x": 1, "y": [true]}, [], {}, [null]],
                           "empty": {}, "none": []})"),
              "k:\n"
              "  list:\n"
              "    - 1\n"
              "    - \"two\"\n"
              "    - x: 1\n"
              "      \"y\":\n"  // y is a bool to YAML 1.1 readers
              "        - true\n"
              "    - []\n"
              "    - {}\n"
              "    -\n"
              "      - null\n"
              "  empty: {}\n"
              "  none: []\n");
}

TEST(YamlWriter, WritesLongKeysInExplicitForm) {
    const std::string key(1500, 'x');
    const std::string yaml = emit(key, R"({"a": 1})");
    EXPECT_EQ(yaml, "? \"" + key + "\"\n:\n  a: 1\n");
    std::string read_key;
    EXPECT_EQ(read_back(yaml, &read_key), R"({"a":1})");
    EXPECT_EQ(read_key, key);
}

TEST(YamlWriter, BinaryEntriesRoundTripEveryByte) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
    const std::string yaml = emit_binary_entry("k", bytes);
    EXPECT_EQ(yaml.rfind("k: !!binary \"", 0), 0u);
    EXPECT_EQ(read_back(yaml), bytes);
    EXPECT_EQ(read_back(emit_binary_entry("k", "")), "");
}

TEST(YamlWriter, EverythingWrittenReadsBackAsTheSameJson) {
    const char* values[] = {
        R"({"s": "123", "t": "yes", "u": "null", "v": "~", "w": "", "x": " lead", "y": "trail "})",
        R"({"d": "2026-12-12T10:00:00.123456+00:00", "e": "2026-12-12 10:00:00", "f": "1e5"})",
        R"({"q": "a: b", "r": "- x", "s": "# no comment", "t": "{x}", "u": "'", "v": "\"", "w": "&a *b !c"})",
        R"({"n": -9223372036854775808, "m": 18446744073709551615, "f": 2.5e-300, "z": -0.0})",
        R"({"nested": {"deeper": {"deepest": [1, [2, [3, {}]]]}}, "b": false, "nul": null})",
        R"({"ctl": "\u0000\u0001\u001f\u007f\u0085\u2028\u2029\ufeff\ufffe", "uni": "h\u00e9\ud83d\udd11"})",
        R"({"multi": "line one\nline two\r\n", "tab": "\t"})",
        R"({"yes": 1, "123": 2, "": 3, "with space": 4, "x:y": 5})",
    };
    for (const char* value : values) {
        const ordered_json parsed = ordered_json::parse(value);
        EXPECT_EQ(read_back(emit_mapping_entry("user", parsed)), parsed.dump()) << value;
    }
}

TEST(YamlEntry, JsonObjectsBecomeMappingsAndEverythingElseBinary) {
    EXPECT_EQ(make_entry("k", R"({"a":1})")->value, R"({"a":1})");
    EXPECT_EQ(make_entry("k", R"({"a":1})")->yaml, "k:\n  a: 1\n");
    // An object spelled otherwise than compactly would not read back byte for byte.
    for (std::string_view other : {"[1,2]", "\"text\"", "42", "null", "not json", "{\"a\":", "", "{\"a\": 1}",
                                   "{\"e\":\"\\u00e9\"}"}) {
        const EntryPtr entry = make_entry("k", other);
        EXPECT_EQ(entry->value, other);
        EXPECT_NE(entry->yaml.find("!!binary"), std::string::npos) << other;
    }
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "{\"a\":";
    deep += "1";
    for (int i = 0; i < 100; ++i) deep += "}";
    EXPECT_EQ(make_entry("k", deep)->value, deep);
    EXPECT_NE(make_entry("k", deep)->yaml.find("!!binary"), std::string::npos);
}

TEST(YamlReader, ResolvesPlainScalarsLikeTheCoreSchema) {
    const std::string yaml =
        "u:\n"
        "  int: 123\n  neg: -7\n  big: 18446744073709551615\n  float: 1.5\n  exp: 1.0e+20\n"
        "  t: true\n  f: False\n  n1: ~\n  n2: null\n  n3:\n"
        "  date: 2026-12-12 10:00:00.123456+00:00\n  iso: 2026-12-12T10:00:00+00:00\n"
        "  word: yes\n  hex: 0x1F\n  quoted: '123'\n  dq: \"true\"\n  tagged: !!str 12\n"
        "  folded: spark:a spark:b\n    spark:c\n  literal: |\n    two\n    lines\n";
    const auto value = nlohmann::json::parse(read_back(yaml));
    EXPECT_EQ(value["int"], 123);
    EXPECT_EQ(value["neg"], -7);
    EXPECT_EQ(value["big"], 18446744073709551615u);
    EXPECT_EQ(value["float"], 1.5);
    EXPECT_EQ(value["exp"], 1e20);
    EXPECT_EQ(value["t"], true);
    EXPECT_EQ(value["f"], false);
    EXPECT_TRUE(value["n1"].is_null());
    EXPECT_TRUE(value["n2"].is_null());
    EXPECT_TRUE(value["n3"].is_null());
    EXPECT_EQ(value["date"], "2026-12-12 10:00:00.123456+00:00");
    EXPECT_EQ(value["iso"], "2026-12-12T10:00:00+00:00");
    EXPECT_EQ(value["word"], "yes");
    EXPECT_EQ(value["hex"], "0x1F");
    EXPECT_EQ(value["quoted"], "123");
    EXPECT_EQ(value["dq"], "true");
    EXPECT_EQ(value["tagged"], "12");
    EXPECT_EQ(value["folded"], "spark:a spark:b spark:c");
    EXPECT_EQ(value["literal"], "two\nlines\n");
}

TEST(YamlReader, KeepsKeyOrderAndTheLastOfDuplicateKeys) {
    auto entries = parse_store_file("a:\n  z: 1\n  a: 2\nb: {}\na:\n  x: 3\n", "f.yml");
    ASSERT_EQ(entries.size(), 3u);  // the store keeps the last "a"
    EXPECT_EQ(entries[0].second->value, R"({"z":1,"a":2})");
    EXPECT_EQ(entries[2].first, "a");
    EXPECT_EQ(entries[2].second->value, R"({"x":3})");
}

TEST(YamlReader, EmptyDocumentsHoldNoEntries) {
    EXPECT_TRUE(parse_store_file("", "f.yml").empty());
    EXPECT_TRUE(parse_store_file("# only a comment\n", "f.yml").empty());
    EXPECT_TRUE(parse_store_file("{}\n", "f.yml").empty());
    EXPECT_TRUE(parse_store_file("---\n...\n", "f.yml").empty());
}

void expect_corrupt(const std::string& yaml, const std::string& expected_start) {
    try {
        parse_store_file(yaml, "/data/users.yml");
        ADD_FAILURE() << "no error for: " << yaml;
    } catch (const CorruptFile& error) {
        EXPECT_EQ(std::string(error.what()).rfind(expected_start, 0), 0u) << error.what();
    }
}

TEST(YamlReader, NamesFileAndLineOfWhatIsWrong) {
    // yaml-cpp notices the unclosed flow sequence at the end of the text.
    expect_corrupt("a:\n  b: [1,\nc: d\n", "/data/users.yml: line 4, column 1: end of sequence");
    expect_corrupt("# header\n- a\n- b\n", "/data/users.yml: line 2: the top level is a sequence");
    expect_corrupt("just text\n", "/data/users.yml: line 1: the top level is a scalar");
    expect_corrupt("a:\n  x: 1\nb: 42\n", "/data/users.yml: line 3: an entry is not a mapping");
    expect_corrupt("a:\n  x: 1\nb:\n", "/data/users.yml: line 3: an entry is not a mapping");
    expect_corrupt("a:\n  x: !!python/name:os.system 1\n",
                   "/data/users.yml: line 2: unsupported tag");
    expect_corrupt("[a]: {}\n", "/data/users.yml: line 1: an entry key is not a string");
    expect_corrupt("a: {}\n---\nb: {}\n",
                   "/data/users.yml: line 3: holds more than one YAML document");
}

}  // namespace
}  // namespace tokend::yaml_store
