#include "core/flow_state.h"

#include "core/json_limits.h"

#include <openssl/sha.h>

namespace tokend {

Result<FlowState> flow_state_from_json(std::string_view text) {
    const Json json = parse_bounded_json(text);
    if (json.is_discarded() || !json.is_object()) {
        return Result<FlowState>::failure("flow state is not a JSON object");
    }
    FlowState flow;
    auto user_id = json.find("user_id");
    if (user_id == json.end() || !user_id->is_string()) {
        return Result<FlowState>::failure("flow state has no string 'user_id'");
    }
    flow.user_id = user_id->get<std::string>();
    auto created = json.find("created");
    if (created == json.end() || !created->is_string()) {
        return Result<FlowState>::failure("flow state has no string 'created'");
    }
    auto at = parse_iso8601(created->get_ref<const std::string&>());
    if (!at) return Result<FlowState>::failure("flow state 'created' is not an ISO 8601 datetime");
    flow.created = *at;
    auto verifier = json.find("code_verifier");
    if (verifier != json.end() && !verifier->is_null()) {
        if (!verifier->is_string()) {
            return Result<FlowState>::failure("flow state 'code_verifier' must be a string");
        }
        flow.code_verifier = Secret(verifier->get<std::string>());
    }
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (it.key() != "user_id" && it.key() != "created" && it.key() != "code_verifier") {
            flow.extra[it.key()] = it.value();
        }
    }
    return flow;
}

Json to_json(const FlowState& flow) {
    Json json = Json::object();
    json["user_id"] = flow.user_id;
    json["created"] = format_iso8601(flow.created);
    if (flow.code_verifier) json["code_verifier"] = flow.code_verifier->reveal();
    for (auto it = flow.extra.begin(); it != flow.extra.end(); ++it) json[it.key()] = it.value();
    return json;
}

std::string to_stored_text(const FlowState& flow) { return to_json(flow).dump(); }

std::string flow_log_id(std::string_view flow_id) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(flow_id.data()), flow_id.size(), digest);
    static const char kHex[] = "0123456789abcdef";
    std::string shown;
    for (int i = 0; i < 4; ++i) {
        shown += kHex[digest[i] >> 4];
        shown += kHex[digest[i] & 0xf];
    }
    return shown;
}

}  // namespace tokend
