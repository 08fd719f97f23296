// The result of an operation inside the redis store: a C ABI status plus a
// message for the operator. Messages name hosts, keys and options, never values
// or passwords.
#pragma once

#include "plugin_support.h"

namespace tokend::redis_store {

using plugin_support::Status;

}  // namespace tokend::redis_store
