// Bytes as text: base64 (RFC 4648) and hex digits, one implementation for
// the flow ids, auth links, sealed values and key files that need them.
#pragma once

#include <string>
#include <string_view>

namespace tokend {

// RFC 4648 section 5 alphabet, no padding.
std::string base64url_encode(std::string_view bytes);

enum class Base64Input {
    url_unpadded,  // RFC 4648 section 5 alphabet, no '=' (what base64url_encode writes)
    any,           // either alphabet, padding optional
};

// Strict decode: a character outside the alphabet, an impossible length or
// non-zero unused bits (a second spelling of the same bytes) is false.
bool base64_decode(std::string_view text, Base64Input input, std::string* out);

// 0-15 for a hex digit of either case, -1 for anything else.
int hex_digit_value(char c);

}  // namespace tokend
