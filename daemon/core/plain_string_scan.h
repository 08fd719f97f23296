// Finding where a JSON string that needs no decoding ends: the fast readers
// take strings of printable ASCII without escapes as they stand, and decline
// everything else to the full parser. Start-up scans some 500 bytes of such
// strings a user, a million users; every get_token answer writes three.
#pragma once

#include <cstddef>
#include <string_view>

namespace tokend {

// The index of the first '"' at or after from, or npos when the text ends
// first or a byte before that quote is a backslash, below 0x20 or from 0x80 on.
// Sixteen bytes a step where the CPU has SSE2 (every x86-64), else the
// portable scan.
size_t plain_string_end(std::string_view text, size_t from);
// The same answer on every CPU: memchr for the quote, then eight bytes a step.
size_t plain_string_end_portable(std::string_view text, size_t from);

// Whether text can stand between quotes in JSON as it is: no quote, backslash,
// control character or byte from 0x80 on (the encoders copy such text).
bool plain_text(std::string_view text);
bool plain_text_portable(std::string_view text);

}  // namespace tokend
