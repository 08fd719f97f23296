#include "core/plain_string_scan.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokend {
namespace {

bool odd_byte(unsigned char c) { return c == '\\' || c < 0x20 || c >= 0x80; }

// No backslash, control character or byte beyond ASCII, eight bytes a step.
bool plain_ascii(std::string_view text) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        uint64_t word;
        std::memcpy(&word, text.data() + i, 8);
        const uint64_t backslash = word ^ (kOnes * '\\');
        const uint64_t flagged = word | ((word - kOnes * 0x20) & ~word) | ((backslash - kOnes) & ~backslash);
        if (flagged & kHigh) return false;  // a byte >= 0x80, < 0x20 or '\\' in the word
    }
    for (; i < text.size(); ++i) {
        if (odd_byte(static_cast<unsigned char>(text[i]))) return false;
    }
    return true;
}

#if defined(__SSE2__)
// The quotes and the odd bytes of 16 bytes, one bit a byte.
struct Marks {
    unsigned quotes;
    unsigned odds;
};
Marks marks_of_16(const char* at) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    // Compared as signed bytes: below 0x20 and from 0x80 on are both less than ' '.
    const __m128i odd = _mm_or_si128(_mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20)),
                                     _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\')));
    return {static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')))),
            static_cast<unsigned>(_mm_movemask_epi8(odd))};
}
#endif

}  // namespace

size_t plain_string_end_portable(std::string_view text, size_t from) {
    if (from >= text.size()) return std::string_view::npos;
    const size_t end = text.find('"', from);  // memchr
    if (end == std::string_view::npos || !plain_ascii(text.substr(from, end - from))) return std::string_view::npos;
    return end;
}

size_t plain_string_end(std::string_view text, size_t from) {
#if defined(__SSE2__)
    size_t i = from;
    for (; i + 16 <= text.size(); i += 16) {
        const Marks marks = marks_of_16(text.data() + i);
        if ((marks.quotes | marks.odds) == 0) continue;
        if (marks.quotes == 0) return std::string_view::npos;  // an odd byte with no quote before it
        const auto first_quote = static_cast<unsigned>(__builtin_ctz(marks.quotes));
        if (marks.odds & ((1u << first_quote) - 1)) return std::string_view::npos;
        return i + first_quote;
    }
    for (; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"') return i;
        if (odd_byte(c)) return std::string_view::npos;
    }
    return std::string_view::npos;
#else
    return plain_string_end_portable(text, from);
#endif
}

bool plain_text_portable(std::string_view text) {
    return text.find('"') == std::string_view::npos && plain_ascii(text);
}

bool plain_text(std::string_view text) {
#if defined(__SSE2__)
    const auto clean = [](const char* at) {
        const Marks marks = marks_of_16(at);
        return (marks.quotes | marks.odds) == 0;
    };
    if (text.empty()) return true;  // a default view's data() is null: nothing to copy
    if (text.size() < 16) {  // most keys and ids: one step over a padded copy
        char padded[16];
        std::memset(padded, 'a', sizeof padded);
        std::memcpy(padded, text.data(), text.size());
        return clean(padded);
    }
    size_t i = 0;
    for (; i + 16 <= text.size(); i += 16) {
        if (!clean(text.data() + i)) return false;
    }
    // The last bytes in a step that overlaps the one before.
    return i == text.size() || clean(text.data() + text.size() - 16);
#else
    return plain_text_portable(text);
#endif
}

}  // namespace tokend
