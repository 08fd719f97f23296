// A pending OAuth flow: {"user_id": str, "created": datetime} as the original
// stored it, plus tokend's PKCE verifier (kept server-side, never returned).
#pragma once

#include "core/iso_time.h"
#include "core/result.h"
#include "core/secret.h"
#include "core/tokens.h"

#include <optional>
#include <string>
#include <string_view>

namespace tokend {

struct FlowState {
    std::string user_id;
    Timestamp created;
    std::optional<Secret> code_verifier;
    Json extra = Json::object();

    // A flow is usable for `ttl` after it was created; at exactly created+ttl it is not.
    bool expired(Timestamp now, std::chrono::seconds ttl) const { return now >= created + ttl; }

    bool operator==(const FlowState& other) const = default;
};

Result<FlowState> flow_state_from_json(std::string_view text);
Json to_json(const FlowState& flow);
std::string to_stored_text(const FlowState& flow);

// How a flow id (the OAuth `state`, a bearer of the pending flow) appears in
// logs: the first 8 hex digits of its SHA-256, enough to follow one flow's
// lines, useless for finishing or burning it.
std::string flow_log_id(std::string_view flow_id);

}  // namespace tokend
