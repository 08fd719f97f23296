#include "core/control_protocol.h"

#include "core/json_limits.h"

namespace tokend {

std::string_view to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_request: return "bad_request";
        case ErrorCode::unknown_op: return "unknown_op";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::permission_denied: return "permission_denied";
        case ErrorCode::reauth_required: return "reauth_required";
        case ErrorCode::provider_error: return "provider_error";
        case ErrorCode::store_unavailable: return "store_unavailable";
        case ErrorCode::internal: return "internal";
        case ErrorCode::unknown_integration: return "unknown_integration";
        case ErrorCode::provider_unavailable: return "provider_unavailable";
    }
    return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view name) {
    for (ErrorCode code : {ErrorCode::bad_request, ErrorCode::unknown_op, ErrorCode::not_found,
                           ErrorCode::permission_denied, ErrorCode::reauth_required, ErrorCode::provider_error,
                           ErrorCode::store_unavailable, ErrorCode::internal, ErrorCode::unknown_integration,
                           ErrorCode::provider_unavailable}) {
        if (to_string(code) == name) return code;
    }
    return std::nullopt;
}

const std::vector<OpInfo>& protocol_ops() {
    static const std::vector<OpInfo> ops = {
        {"ping", OpClass::read},
        {"start_flow", OpClass::write},
        {"auth_link", OpClass::write},
        {"process_redirect", OpClass::write},
        {"get_user_context", OpClass::read},
        {"get_token", OpClass::read},
        {"set_user_context", OpClass::write},
        {"list_users", OpClass::read},
        {"export", OpClass::read},
        {"refresh", OpClass::write},
        {"flow_maintenance", OpClass::write},
        {"stats", OpClass::read},
        {"watch", OpClass::read},
        {"reencrypt", OpClass::write},
        {"sign_out", OpClass::write},
        {"grant_status", OpClass::read},
    };
    return ops;
}

const OpInfo* find_op(std::string_view name) {
    for (const OpInfo& op : protocol_ops()) {
        // Length and first letter first: most ops differ in one or the other (no op's name is empty).
        if (op.name.size() == name.size() && op.name[0] == name[0] && op.name == name) return &op;
    }
    return nullptr;
}

void ControlRequest::clear() {
    if (!id.is_null()) id = nullptr;
    op = nullptr;
    params.clear();
}

Result<ControlRequest> parse_request(std::string_view line, ProtocolError* error) {
    ControlRequest request;
    if (!parse_request_into(line, &request, error)) return Result<ControlRequest>::failure(error->message);
    return request;  // moved (implicitly, into Result's T&& constructor)
}

bool parse_request_into(std::string_view line, ControlRequest* request, ProtocolError* error) {
    if (parse_plain_request_into(line, request)) return true;
    auto full = parse_request_fully(line, error);
    if (!full) return false;
    *request = std::move(full).value();
    return true;
}

Result<ControlRequest> parse_request_fully(std::string_view line, ProtocolError* error) {
    auto fail = [&](ErrorCode code, std::string message, Json id = nullptr) {
        *error = ProtocolError{code, std::move(message), std::move(id)};
        return Result<ControlRequest>::failure(error->message);
    };
    if (!json_depth_within(line)) {
        return fail(ErrorCode::bad_request,
                    "request nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    // nlohmann's parser also rejects invalid UTF-8 inside strings.
    Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return fail(ErrorCode::bad_request, "request is not valid JSON (UTF-8)");
    if (!json.is_object()) return fail(ErrorCode::bad_request, "request must be a JSON object");
    ControlRequest request;
    if (auto id = json.find("id"); id != json.end()) {
        if (id->is_object() || id->is_array()) return fail(ErrorCode::bad_request, "\"id\" must be a scalar");
        request.id = *id;
    }
    auto op = json.find("op");
    if (op == json.end() || !op->is_string()) {
        return fail(ErrorCode::bad_request, "request has no string \"op\"", request.id);
    }
    const std::string& name = op->get_ref<const std::string&>();
    const OpInfo* known = find_op(name);
    if (known == nullptr) {
        return fail(ErrorCode::unknown_op, "unknown op \"" + (name.size() <= 64 ? name : "(long)") + "\"", request.id);
    }
    request.op = known;
    request.params = RequestParams(std::move(json));
    return request;
}

std::string encode_ok(const Json& id, const Json& result) {
    Json response = Json::object();
    response["id"] = id;
    response["ok"] = true;
    response["result"] = result;
    return response.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string encode_error(const Json& id, ErrorCode code, std::string_view message) {
    Json response = Json::object();
    response["id"] = id;
    response["ok"] = false;
    response["error"] = {{"code", to_string(code)}, {"message", message}};
    return response.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string encode_event(std::string_view event, std::string_view user_id, std::string_view at,
                         std::string_view revocation, std::string_view integration) {
    Json line = Json::object();
    line["event"] = event;
    line["user_id"] = user_id;
    if (!integration.empty()) line["integration"] = integration;
    line["at"] = at;
    if (!revocation.empty()) line["revocation"] = revocation;
    return line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

void LineSplitter::feed(std::string_view bytes, std::vector<Line>* lines) {
    std::vector<LineView> views;
    feed_views(bytes, &views);
    for (const LineView& view : views) lines->push_back(Line{std::string(view.text), view.too_long});
}

void LineSplitter::feed_views(std::string_view bytes, std::vector<LineView>* lines) {
    while (!bytes.empty()) {
        const size_t newline = bytes.find('\n');
        const std::string_view chunk = bytes.substr(0, newline);
        if (!discarding_ && partial_.size() + chunk.size() > max_) {
            partial_.clear();
            partial_.shrink_to_fit();
            discarding_ = true;
            lines->push_back(LineView{{}, true});
        }
        if (newline == std::string_view::npos) {
            if (!discarding_) partial_.append(chunk);
            return;
        }
        if (!discarding_) {
            std::string_view text = chunk;
            if (!partial_.empty()) {  // only the first line of a feed can have begun earlier
                partial_.append(chunk);
                assembled_.swap(partial_);
                text = assembled_;
            }
            if (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // tolerate CRLF (socat, telnet)
            lines->push_back(LineView{text, false});
        }
        partial_.clear();
        discarding_ = false;
        bytes.remove_prefix(newline + 1);
    }
}

}  // namespace tokend
