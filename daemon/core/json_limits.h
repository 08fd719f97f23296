// Bounded JSON parsing for text from outside (control lines, stored values,
// provider answers). nlohmann's parser keeps its own stack, but copying, dumping
// and destroying a value recurse once per level: 100,000 nested '[' crash the
// process. Every parse of outside text goes through parse_bounded_json.
#pragma once

#include "core/tokens.h"

#include <cstddef>
#include <string_view>

namespace tokend {

// Deepest nesting tokend accepts: far above any real context (2-3 levels) and
// far below what overflows a thread's stack.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Whether no array or object in `text` nests deeper than `max_depth` levels
// ("[]" is 1, "[[]]" is 2, a scalar 0). Brackets inside strings do not count.
// A pre-scan: linear, no allocation; says nothing about validity otherwise.
bool json_depth_within(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Json::parse without exceptions, discarded when the text is malformed or
// nests deeper than `max_depth` (then it is not parsed at all).
Json parse_bounded_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace tokend
