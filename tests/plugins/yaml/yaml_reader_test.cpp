// parse_store_file on inputs the fuzzer (fuzz/yaml_reader_fuzzer.cpp) found
// crashing or misreading; each also lives in fuzz/corpus/yaml_reader.
#include "yaml_reader.h"

#include <gtest/gtest.h>

namespace tokend::yaml_store {
namespace {

std::string corrupt_message(const std::string& text) {
    try {
        parse_store_file(text, "users.yml");
    } catch (const CorruptFile& error) {
        return error.what();
    }
    return "(parsed)";
}

// yaml-cpp's DecodeBase64 indexed its table with a negative char: SIGSEGV at start.
TEST(YamlReaderFuzzFindings, BinaryValueWithAByteAbove0x7fIsCorruptNotACrash) {
    const std::string text = "U1:\n  user_id: U1\nk: !!binary \"/\xaf" "4=\"\n";
    EXPECT_EQ(corrupt_message(text), "users.yml: line 3: an entry's !!binary value is not valid base64");
}

TEST(YamlReaderFuzzFindings, BinaryKeyWithAByteAbove0x7fIsCorruptNotACrash) {
    EXPECT_EQ(corrupt_message("!!binary \"dXNl\xff\": {}\n"), "users.yml: line 1: an entry key is not valid base64");
}

TEST(YamlReaderFuzzFindings, BinaryKeysAndValuesStillDecode) {
    const auto entries = parse_store_file("!!binary \"dXNlci0z\": {}\nk: !!binary \" //4=\\n\"\n", "users.yml");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].first, "user-3");
    EXPECT_EQ(entries[0].second->value, "{}");
    EXPECT_EQ(entries[1].first, "k");
    EXPECT_EQ(entries[1].second->value, std::string("\xff\xfe", 2));
}

// A stray ',' at the top level made yaml-cpp hand out empty documents forever:
// YAML::LoadAll grew until memory ran out (tokend hung at start).
TEST(YamlReaderFuzzFindings, AStrayTopLevelCommaIsCorruptNotAnEndlessLoad) {
    EXPECT_EQ(corrupt_message(","), "users.yml: line 1: holds more than one YAML document");
    EXPECT_EQ(corrupt_message("[a],"), "users.yml: line 1: holds more than one YAML document");
    EXPECT_EQ(corrupt_message("{a: {}},\n"), "users.yml: line 1: holds more than one YAML document");
}

TEST(YamlReaderFuzzFindings, OneDocumentWithMarkersStillReads) {
    const auto entries = parse_store_file("# users\n---\na: {user_id: a}\n...\n", "users.yml");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].first, "a");
    EXPECT_EQ(entries[0].second->value, R"({"user_id":"a"})");
    EXPECT_TRUE(parse_store_file("", "users.yml").empty());
    EXPECT_TRUE(parse_store_file("# nothing\n", "users.yml").empty());
}

}  // namespace
}  // namespace tokend::yaml_store
