#include "abi_glue.h"

#include <string>

namespace tokend::plugin_support {

bool host_usable(const tokend_host_api* host) noexcept {
    return host != nullptr && host->struct_size >= kHostApiMinSize &&
           (host->abi_version >> 16) == TOKEND_STORE_ABI_MAJOR;
}

Status check_namespace(tokend_namespace ns) {
    if (ns == TOKEND_NS_USER || ns == TOKEND_NS_FLOW) return Status::success();
    return Status::error(TOKEND_INVALID, "unknown namespace " + std::to_string(static_cast<int>(ns)));
}

Status check_input(const void* data, size_t length, const char* what) {
    if (data != nullptr || length == 0) return Status::success();
    return Status::error(TOKEND_INVALID, std::string(what) + " is NULL");
}

tokend_status report(const tokend_host_api* host, tokend_reply* reply, const Status& status) noexcept {
    if (!status.message.empty() && host != nullptr && host->reply_error != nullptr) {
        host->reply_error(reply, status.message.data(), status.message.size());
    }
    return status.code;
}

Status internal_error(const char* who) noexcept {
    // Building the message allocates; if that fails too, the code alone goes back.
    try {
        try {
            throw;
        } catch (const std::bad_alloc&) {
            return Status::error(TOKEND_INTERNAL, std::string(who) + ": out of memory");
        } catch (...) {
            return Status::error(TOKEND_INTERNAL, std::string(who) + ": unexpected internal error");
        }
    } catch (...) {
        return Status{TOKEND_INTERNAL, {}};
    }
}

}  // namespace tokend::plugin_support
