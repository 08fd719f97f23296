// The outcome of one control operation, before it is encoded as a response line.
#pragma once

#include "core/control_protocol.h"

#include <functional>
#include <string>

namespace tokend {

struct OpResult {
    bool ok = true;
    Json result = Json::object();
    ErrorCode code = ErrorCode::internal;
    std::string message;  // for people; never a secret

    static OpResult success(Json result) { return OpResult{true, std::move(result), ErrorCode::internal, ""}; }
    static OpResult failure(ErrorCode code, std::string message) {
        return OpResult{false, Json::object(), code, std::move(message)};
    }
};

using OpCallback = std::function<void(OpResult)>;

}  // namespace tokend
