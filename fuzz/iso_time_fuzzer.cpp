// parse_iso8601 (core/iso_time): every time a stored context or flow carries.
// Checks: what parses formats to text that parses back to the same instant, in
// the one form tokend writes (formatting it again gives the same text).
#include "fuzz_check.h"

#include "core/iso_time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text = tokend::fuzz::as_text(data, size);
    const auto parsed = tokend::parse_iso8601(text);
    if (!parsed) return 0;
    const std::string formatted = tokend::format_iso8601(*parsed);
    const auto again = tokend::parse_iso8601(formatted);
    FUZZ_CHECK(again);
    FUZZ_CHECK(*again == *parsed);
    FUZZ_CHECK(tokend::format_iso8601(*again) == formatted);
    return 0;
}
