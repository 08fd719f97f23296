// The result of an operation inside the redis store: a C ABI status plus a
// message for the operator. Messages name hosts, keys and options, never values
// or passwords.
#pragma once

#include <tokend/store.h>

#include <string>
#include <utility>

namespace tokend::redis_store {

struct Status {
    tokend_status code = TOKEND_OK;
    std::string message;

    bool ok() const { return code == TOKEND_OK; }

    static Status success() { return {}; }
    static Status error(tokend_status code, std::string message) {
        return {code, std::move(message)};
    }
};

}  // namespace tokend::redis_store
