// One user's stored state: {"user_id": str, "tokens": Tokens}, as the original
// module stored it in Redis ("user-{id}") and in its YAML file.
#pragma once

#include "core/tokens.h"

#include <string>
#include <string_view>

namespace tokend {

struct UserContext {
    std::string user_id;
    Tokens tokens;
    Json extra;  // unknown top-level fields, kept as they came; null when none

    bool operator==(const UserContext& other) const = default;
};

// Parses stored text. Fails (with a reason that never quotes a value) on invalid
// JSON, a missing or non-string user_id, or malformed tokens.
Result<UserContext> user_context_from_json(std::string_view text);
Result<UserContext> user_context_from_json(const Json& json);

Json to_json(const UserContext& context);
// Compact JSON text, the form tokend stores.
std::string to_stored_text(const UserContext& context);

}  // namespace tokend
