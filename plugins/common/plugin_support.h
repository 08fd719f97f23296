// What the store plugins of this tree share around the C ABI: a status with
// its message for the operator, byte views of borrowed inputs, and the
// smallest host table they can use. The entry-point glue built on these is
// abi_glue.h, the option helpers option_helpers.h. Nothing here is exported.
#pragma once

#include <tokend/store.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace tokend::plugin_support {

// The result of an operation inside a plugin: a C ABI status plus a message
// for the operator. Messages name files, hosts, keys and options, never values.
struct Status {
    tokend_status code = TOKEND_OK;
    std::string message;

    bool ok() const { return code == TOKEND_OK; }

    static Status success() { return {}; }
    static Status error(tokend_status code, std::string message) {
        return {code, std::move(message)};
    }
};

// A borrowed (pointer, length) input as a view; a zero length may come with NULL.
inline std::string_view bytes(const void* data, size_t length) {
    return length == 0 ? std::string_view() : std::string_view(static_cast<const char*>(data), length);
}

// The 1.0 host table ends with `log`; a smaller one cannot be used.
inline constexpr size_t kHostApiMinSize = offsetof(tokend_host_api, log) + sizeof(tokend_host_api::log);

}  // namespace tokend::plugin_support
