// The result of an operation inside the yaml store: a C ABI status plus a message
// for the operator. Messages name files, lines and options, never values.
#pragma once

#include "plugin_support.h"

namespace tokend::yaml_store {

using plugin_support::Status;

}  // namespace tokend::yaml_store
