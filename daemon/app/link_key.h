// The key that signs auth links (core/auth_link.h): links.key_file when it is
// configured, else <state_dir>/link.key, made at first start (32 random bytes
// as 64 hex digits, mode 0600). Several processes sharing a store must share
// the key: give them the same links.key_file. The key is the file's bytes
// without a trailing newline; errors name the file, never the key.
#pragma once

#include "config/config.h"
#include "core/secret.h"

namespace tokend {

// Throws std::runtime_error when the file cannot be read, is shorter than
// kMinLinkKeyBytes, or cannot be made.
Secret load_link_key(const Config& config);

// What load_link_key would refuse, found without making anything: the
// configured file, or <state_dir>/link.key when it exists, read and checked.
// Empty when there is nothing wrong (a missing default key is made at start).
std::string check_link_key(const Config& config);

}  // namespace tokend
