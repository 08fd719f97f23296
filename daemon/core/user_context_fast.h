// The fast reader of one stored user context: one pass over the text, no JSON
// tree, for the exact shape the original module (json.dumps of the context)
// and tokend (to_stored_text) write. What it takes it reads exactly as the DOM
// reader does (tests/core/user_context_fast_test and the fuzz target
// user_context check that); anything else it declines, and
// user_context_from_json then reads the text with nlohmann's parser.
//
// It takes: one object of "user_id" (a string) and "tokens", an object of the
// six known token fields, each a string or null; each key at most once, any
// key order, JSON whitespace between tokens. It declines escapes, bytes beyond
// ASCII or below 0x20 in strings, numbers, unknown fields (which the DOM reader
// keeps), timestamps parse_iso8601 rejects, values starting "enc:" (sealed at
// rest: so what it takes holds no sealed value, and the store's cipher need
// not look for one), and every error.
#pragma once

#include "core/user_context.h"

#include <optional>
#include <string_view>

namespace tokend {

std::optional<UserContext> user_context_from_plain_json(std::string_view text);

}  // namespace tokend
