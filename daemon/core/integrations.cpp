#include "core/integrations.h"

#include <stdexcept>

namespace tokend {

IntegrationSet::IntegrationSet(std::vector<Integration> integrations) : integrations_(std::move(integrations)) {
    if (integrations_.empty()) integrations_.emplace_back();
}

const Integration* IntegrationSet::find(std::string_view name) const {
    for (const Integration& integration : integrations_) {
        if (integration.name == name) return &integration;
    }
    return nullptr;
}

std::string IntegrationSet::key_of(const Integration& integration, bool is_default, std::string_view user_id) {
    if (is_default) return std::string(user_id);
    std::string key;
    key.reserve(integration.name.size() + 1 + user_id.size());
    key.append(integration.name).push_back(kIntegrationKeySeparator);
    key.append(user_id);
    return key;
}

UserKeyOwner IntegrationSet::owner_of(std::string_view key) const {
    const size_t separator = key.find(kIntegrationKeySeparator);
    if (separator != std::string_view::npos && separator + 1 < key.size()) {
        const std::string_view name = key.substr(0, separator);
        for (size_t i = 1; i < integrations_.size(); ++i) {
            if (integrations_[i].name == name) return {&integrations_[i], key.substr(separator + 1)};
        }
    }
    return {&integrations_.front(), key};
}

bool IntegrationSet::ambiguous_default_user(std::string_view user_id) const {
    return owner_of(user_id).integration != &integrations_.front();
}

}  // namespace tokend
