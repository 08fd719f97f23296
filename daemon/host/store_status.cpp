#include "host/store_status.h"

namespace tokend {

std::string_view to_string(StoreCode code) {
    switch (code) {
        case StoreCode::ok: return "ok";
        case StoreCode::not_found: return "not_found";
        case StoreCode::unavailable: return "unavailable";
        case StoreCode::conflict: return "conflict";
        case StoreCode::invalid: return "invalid";
        case StoreCode::corrupt: return "corrupt";
        case StoreCode::internal: return "internal";
    }
    return "internal";
}

std::string_view to_string(Ns ns) { return ns == Ns::user ? "user" : "flow"; }

std::string StoreStatus::describe() const {
    std::string text(to_string(code));
    if (!message.empty()) {
        text += ": ";
        text += message;
    }
    return text;
}

}  // namespace tokend
