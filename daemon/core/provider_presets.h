// The built-in provider presets: each sets the endpoints and PKCE of
// OAuthSettings and its provider profile. "webex" is the default and is
// exactly what tokend did before profiles existed.
#pragma once

#include "core/oauth_settings.h"

#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// The preset names, in the order the documentation lists them.
const std::vector<std::string_view>& provider_preset_names();

// Sets oauth's endpoints, pkce and provider to the preset's; false (nothing
// changed) for an unknown name.
bool apply_provider_preset(std::string_view name, OAuthSettings* oauth);

}  // namespace tokend
