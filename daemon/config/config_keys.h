#pragma once
// Every key the configuration file accepts, by section: one list that the
// parser enforces and the reload plan's completeness test walks, so that a key
// added to the file cannot be left out of SIGHUP's decisions unnoticed.

#include <string_view>
#include <vector>

namespace tokend {

struct ConfigSection {
    std::string_view name;  // "top level", "log", "control.allow", ...
    std::vector<std::string_view> keys;
};

const std::vector<ConfigSection>& config_sections();

// The keys of one section; throws std::logic_error for a name not in the list.
const std::vector<std::string_view>& config_keys(std::string_view section);

}  // namespace tokend
