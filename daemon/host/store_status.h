// Outcome of a store call, as the C++ side of tokend sees it.
#pragma once

#include <string>
#include <string_view>

namespace tokend {

enum class StoreCode { ok, not_found, unavailable, conflict, invalid, corrupt, internal };

// The stable lower-case name of a code, for logs and protocol errors.
std::string_view to_string(StoreCode code);

struct StoreStatus {
    StoreCode code = StoreCode::ok;
    std::string message;  // human detail from the plugin or the host; never holds a value

    bool ok() const { return code == StoreCode::ok; }
    bool not_found() const { return code == StoreCode::not_found; }
    // "unavailable: redis connection refused"
    std::string describe() const;

    static StoreStatus success() { return {}; }
    static StoreStatus error(StoreCode code, std::string message) {
        return {code, std::move(message)};
    }
};

// Which key space a key lives in; mirrors tokend_namespace.
enum class Ns { user = 0, flow = 1 };
std::string_view to_string(Ns ns);

// What a change notification says; mirrors tokend_change.
enum class StoreChange { put = 0, del = 1, resync = 2 };

}  // namespace tokend
