// plain_string_end and plain_text (SSE2 on x86-64) and their portable scans
// give a byte-at-a-time reference's answer on every text, around every 16- and
// 8-byte boundary.
#include "core/plain_string_scan.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tokend {
namespace {

size_t reference_end(std::string_view text, size_t from) {
    for (size_t i = from; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"') return i;
        if (c == '\\' || c < 0x20 || c >= 0x80) return std::string_view::npos;
    }
    return std::string_view::npos;
}

bool reference_plain(std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80) return false;
    }
    return true;
}

void expect_all_agree(const std::string& text, size_t from) {
    const bool plain = reference_plain(text);
    EXPECT_EQ(plain_text(text), plain) << testing::PrintToString(text);
    EXPECT_EQ(plain_text_portable(text), plain) << testing::PrintToString(text);
    const size_t expected = reference_end(text, from);
    EXPECT_EQ(plain_string_end(text, from), expected) << "from " << from << " in " << testing::PrintToString(text);
    EXPECT_EQ(plain_string_end_portable(text, from), expected)
        << "from " << from << " in " << testing::PrintToString(text);
}

TEST(PlainStringScan, OneQuoteOrOddByteAtEveryPosition) {
    for (size_t length = 0; length < 70; ++length) {
        for (size_t at = 0; at <= length; ++at) {
            for (char c : {'"', '\\', '\x01', '\x1f', '\x80', '\xff', ' ', '~', '\x7f'}) {
                std::string text(length, 'x');
                text.insert(at, 1, c);
                expect_all_agree(text, 0);
                expect_all_agree(text + "\"", 0);
                expect_all_agree(text, at);
            }
        }
    }
}

TEST(PlainStringScan, AQuoteBeforeAnOddByteEndsTheStringAndAfterItDoesNot) {
    const std::string text = std::string(20, 'a') + "\"\x01" + std::string(20, 'b');
    EXPECT_EQ(plain_string_end(text, 0), 20u);
    const std::string odd_first = std::string(20, 'a') + "\x01\"" + std::string(20, 'b');
    EXPECT_EQ(plain_string_end(odd_first, 0), std::string_view::npos);
    EXPECT_EQ(plain_string_end("", 0), std::string_view::npos);
    EXPECT_EQ(plain_string_end("abc", 3), std::string_view::npos);
    EXPECT_EQ(plain_string_end_portable("abc", 7), std::string_view::npos);
}

TEST(PlainStringScan, PlainTextTakesPrintableAsciiAndDelete) {
    EXPECT_TRUE(plain_text(""));
    EXPECT_TRUE(plain_text(std::string_view()));  // data() null: nothing read (UBSan would say)
    EXPECT_TRUE(plain_text(std::string(40, 'a') + " ~\x7f"));
    EXPECT_FALSE(plain_text(std::string(40, 'a') + "\""));
    EXPECT_FALSE(plain_text(std::string(17, 'a') + "\xc3\xa9"));
    EXPECT_FALSE(plain_text_portable("tab\there"));
}

TEST(PlainStringScan, RandomTextsOfEveryKindOfByte) {
    std::mt19937 random(27);
    const std::string bytes = std::string("aZ09 ~\x7f\"\"\\\x01\x1f\x80\xc3\xff", 15);
    for (int round = 0; round < 20000; ++round) {
        std::string text(random() % 100, 'x');
        for (char& c : text) c = random() % 4 == 0 ? bytes[random() % bytes.size()] : 'x';
        expect_all_agree(text, text.empty() ? 0 : random() % text.size());
    }
}

}  // namespace
}  // namespace tokend
