// form_decode and parse_query (core/url_encoding): the query string of
// GET /redirect and of signed auth links, straight from the internet.
// Checks: decode(encode(decode(x))) == decode(x); a parsed query has each
// unique name at most once, and its re-encoding parses to the same fields.
#include "fuzz_check.h"

#include "core/url_encoding.h"

#include <algorithm>

namespace {

const std::vector<std::string_view> kUnique = {"code", "state", "error"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tokend;
    const std::string_view text = fuzz::as_text(data, size);

    if (const auto decoded = form_decode(text)) {
        FUZZ_CHECK(decoded->size() <= text.size());
        const std::string encoded = form_encode(*decoded);
        FUZZ_CHECK(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+%") ==
                   std::string::npos);
        const auto again = form_decode(encoded);
        FUZZ_CHECK(again && *again == *decoded);
    }

    const auto fields = parse_query(text, kUnique);
    if (!fields) return 0;
    for (std::string_view name : kUnique) {
        FUZZ_CHECK(std::count_if(fields->begin(), fields->end(), [&](const auto& f) { return f.first == name; }) <= 1);
        const std::string* value = find_field(*fields, name);
        FUZZ_CHECK((value != nullptr) ==
                   (std::find_if(fields->begin(), fields->end(), [&](const auto& f) { return f.first == name; }) !=
                    fields->end()));
    }
    const std::string encoded = form_encode(*fields);
    const auto again = parse_query(encoded, kUnique);
    FUZZ_CHECK(again && *again == *fields);
    return 0;
}
