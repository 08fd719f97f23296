#include "app/config_check.h"

#include "app/link_key.h"
#include "app/secret_loader.h"
#include "app/store_cipher.h"
#include "core/log_record.h"
#include "core/provider_url.h"
#include "host/store.h"
#include "host/store_plugin.h"

#include <filesystem>
#include <initializer_list>
#include <stdexcept>

namespace tokend {
namespace {

// "file:line" of the first of `keys` the file holds, else "file".
std::string at(const ConfigCheck& check, std::initializer_list<std::string> keys) {
    for (const std::string& key : keys) {
        if (auto found = check.config.key_lines.find(key); found != check.config.key_lines.end()) {
            return check.source + ":" + std::to_string(found->second);
        }
    }
    return check.source;
}

bool section_ok(const ConfigReport& report, std::initializer_list<const char*> sections) {
    for (const char* section : sections) {
        if (report.sections_with_problems.count(section) != 0) return false;
    }
    return true;
}

void check_store(const ConfigCheckInput& input, ConfigCheck* check) {
    const StoreConfig& store = check->config.store;
    const std::string plugin_dir = store.plugin_dir.empty() ? input.default_plugin_dir : store.plugin_dir;
    std::shared_ptr<StorePlugin> plugin;
    try {
        plugin = StorePlugin::load(store.plugin, plugin_dir);
    } catch (const PluginLoadError& error) {
        check->problems.push_back(at(*check, {"store.plugin", "store"}) + ": " + error.what());
        return;
    }
    if (plugin->validate_options() == nullptr) {
        check->notes.push_back(at(*check, {"store.options", "store.plugin", "store"}) + ": the " + plugin->name() +
                               " plugin (store ABI " + std::to_string(plugin->abi_version() >> 16) + "." +
                               std::to_string(plugin->abi_version() & 0xffff) +
                               ") cannot check its options; they are checked when tokend opens the store");
        return;
    }
    std::vector<OptionProblem> problems;
    const StoreStatus status = Store::validate_options(*plugin, store.options.dump(), nullptr, &problems);
    for (const OptionProblem& problem : problems) {
        const std::string key = "store.options" + (problem.option.empty() ? "" : "." + problem.option);
        check->problems.push_back(at(*check, {key, "store.options", "store"}) + ": " + key + ": " + problem.message);
    }
    if (!status.ok() && problems.empty()) {
        check->problems.push_back(at(*check, {"store.options", "store"}) + ": the " + plugin->name() +
                                  " plugin could not check its options: " + status.describe());
    }
}

// As the start reads them: a configured source that cannot be read is a
// problem, and so is a missing client secret.
// `section` is where the integration is written: integration, or integrations.
void check_secrets(ConfigCheck* check, const IntegrationConfig& integration, const std::string& section) {
    // The single section keeps its messages ("integration.client_secret"); a listed one is named.
    const bool single = section == "integration";
    const std::string named = single ? "integration" : "integration " + integration.name;
    const std::string key = single ? "integration." : named + " ";
    try {
        const Secret client_secret = load_secret(integration.client_secret_source, key + "client_secret");
        if (client_secret.empty()) {
            check->problems.push_back(at(*check, {section}) + ": " + key +
                                      "client_secret is not set: give {file: PATH} or {env: NAME}, "
                                      "or a systemd credential called " +
                                      integration.client_secret_source.credential_name);
        }
    } catch (const std::exception& error) {
        check->problems.push_back(at(*check, {section + ".client_secret", section}) + ": " + error.what());
    }
    try {
        if (load_secret(integration.bot_token_source, key + "bot_token").empty()) {
            check->notes.push_back((single ? "" : named + ": ") +
                                   "no bot token configured: users will not be told how their flows ended");
        }
    } catch (const std::exception& error) {
        check->problems.push_back(at(*check, {section + ".bot_token", section}) + ": " + error.what());
    }
}

// The oidc preset: the issuer was checked with the configuration (offline);
// its document is not fetched here, only at start.
void note_discovery(ConfigCheck* check, const IntegrationConfig& integration, bool single) {
    const OAuthSettings& oauth = integration.oauth;
    if (!oauth.provider.discovery.enabled) return;
    check->notes.push_back((single ? std::string() : "integration " + integration.name + ": ") + "provider oidc, issuer " +
                           oauth.provider.openid.issuer + ": its discovery document (" +
                           discovery_url(oauth.provider.openid.issuer) +
                           ") is fetched at start, not now; until it is read, flows are refused (provider_unavailable)");
}

// Every encryption key is read and decoded as the start would, each on its
// own so that all bad keys are reported at once (never their bytes).
void check_encryption_keys(ConfigCheck* check) {
    for (const EncryptionKeySource& key : check->config.encryption.keys) {
        EncryptionConfig one;
        one.keys.push_back(key);
        try {
            (void)StoreCipher::from_config(one);
        } catch (const std::exception& error) {
            check->problems.push_back(at(*check, {"encryption.keys", "encryption"}) + ": " + error.what());
        }
    }
}

}  // namespace

ConfigCheck check_configuration(const ConfigCheckInput& input) {
    ConfigCheck check;
    check.source = input.config_path.empty() ? "embedded default" : input.config_path;
    ConfigReport report;
    check.config = input.config_path.empty() ? default_config(input.env)
                                             : load_config_file(input.config_path, input.env, &report);
    check.problems = report.problems;
    if (!input.log_level_override.empty()) {
        check.config.log.level = input.log_level_override;
        if (!canonical_log_level(input.log_level_override)) {
            check.problems.push_back("--log-level: unknown log level '" + input.log_level_override +
                                     "': use one of " + std::string(log_levels_accepted()));
        }
    }

    std::error_code error;
    if (section_ok(report, {"state_dir"}) && !std::filesystem::exists(check.config.state_dir, error)) {
        check.notes.push_back(at(check, {"state_dir"}) + ": state_dir " + check.config.state_dir +
                              " does not exist; tokend creates it at start");
    }
    if (section_ok(report, {"store", "state_dir"})) check_store(input, &check);
    if (check.config.integration.configured && section_ok(report, {"integration", "integrations"})) {
        const bool listed = !check.config.other_integrations.empty() || check.config.integration.name != "default";
        check_secrets(&check, check.config.integration, listed ? "integrations" : "integration");
        note_discovery(&check, check.config.integration, !listed);
        for (const IntegrationConfig& other : check.config.other_integrations) {
            check_secrets(&check, other, "integrations");
            note_discovery(&check, other, false);
        }
        if (section_ok(report, {"links", "state_dir"})) {
            const std::string link_key_problem = check_link_key(check.config);
            if (!link_key_problem.empty()) {
                check.problems.push_back(at(check, {"links.key_file", "links"}) + ": " + link_key_problem);
            }
        }
    }
    if (section_ok(report, {"encryption"})) check_encryption_keys(&check);
    return check;
}

}  // namespace tokend
