// Reads a secret named by the configuration: a file (systemd credential or
// any path), an environment variable, or else $CREDENTIALS_DIRECTORY/<name>.
// Errors name the source, never the secret.
#pragma once

#include "config/config.h"
#include "core/secret.h"

#include <string>

namespace tokend {

// Empty Secret when nothing is configured and no credential exists. Throws
// std::runtime_error when a configured source cannot be read or is empty.
Secret load_secret(const SecretSource& source, const std::string& what);

}  // namespace tokend
