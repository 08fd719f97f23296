#include "core/user_context.h"

#include "core/json_limits.h"
#include "core/user_context_fast.h"

namespace tokend {

Result<UserContext> user_context_from_json(std::string_view text) {
    // The shape the original and tokend write, without a JSON tree (start-up reads a million).
    if (auto plain = user_context_from_plain_json(text)) return std::move(*plain);
    if (!json_depth_within(text)) {
        return Result<UserContext>::failure("user context nests deeper than " + std::to_string(kMaxJsonDepth) +
                                            " levels");
    }
    Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Result<UserContext>::failure("user context is not valid JSON");
    return user_context_from_json(json);
}

Result<UserContext> user_context_from_json(const Json& json) {
    if (!json.is_object()) return Result<UserContext>::failure("user context must be a JSON object");
    UserContext context;
    auto user_id = json.find("user_id");
    if (user_id == json.end() || !user_id->is_string()) {
        return Result<UserContext>::failure("user context has no string 'user_id'");
    }
    context.user_id = user_id->get<std::string>();
    auto tokens = json.find("tokens");
    if (tokens == json.end()) return Result<UserContext>::failure("user context has no 'tokens'");
    auto parsed = tokens_from_json(*tokens);
    if (!parsed) return Result<UserContext>::failure(parsed.error());
    context.tokens = std::move(parsed).value();
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (it.key() != "user_id" && it.key() != "tokens") context.extra[it.key()] = it.value();
    }
    return context;
}

Json to_json(const UserContext& context) {
    Json json = Json::object();
    json["user_id"] = context.user_id;
    json["tokens"] = to_json(context.tokens);
    for (auto it = context.extra.begin(); it != context.extra.end(); ++it) {
        json[it.key()] = it.value();
    }
    return json;
}

std::string to_stored_text(const UserContext& context) { return to_json(context).dump(); }

}  // namespace tokend
