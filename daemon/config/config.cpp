#include "config/config.h"

#include "config/config_keys.h"
#include "config/yaml_duplicates.h"
#include "config/yaml_to_json.h"
#include "core/json_limits.h"
#include "core/log_record.h"
#include "core/provider_presets.h"
#include "core/provider_requests.h"
#include "core/provider_url.h"
#include "core/token_cipher.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tokend {
namespace {

std::string preset_list() {
    std::string names;
    for (std::string_view name : provider_preset_names()) names += (names.empty() ? "" : ", ") + std::string(name);
    return names;
}

// A problem at a place in the document: where it is lets parse_config set the
// key that holds it aside and go on (collecting every problem).
class ConfigProblemAt : public ConfigError {
public:
    ConfigProblemAt(const std::string& message, YAML::Mark mark) : ConfigError(message), mark(mark) {}
    YAML::Mark mark;
};

// The top-level section a section name belongs to ("control.allow" -> "control").
std::string top_section(std::string_view section) {
    return std::string(section.substr(0, section.find('.')));
}

// Reads one configuration document; `source` names it in every message. With
// a report, unknown keys are recorded (and set aside) instead of thrown.
class Reader {
public:
    explicit Reader(std::string_view source, ConfigReport* report = nullptr) : source_(source), report_(report) {}

    std::string where(const YAML::Node& node) const {
        std::string text(source_);
        if (node.Mark().line >= 0) text += ":" + std::to_string(node.Mark().line + 1);
        return text;
    }

    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
        throw ConfigProblemAt(where(node) + ": " + message, node.Mark());
    }

    // Refuses keys outside the section's list (config_keys.cpp) and a node that
    // is not a mapping.
    void check_keys(const YAML::Node& node, std::string_view section) const {
        check_keys(node, section, config_keys(section));
    }

    // The same for a value's own shape ({file: ...}, {uids: ...}).
    void check_keys(const YAML::Node& node, std::string_view section,
                    const std::vector<std::string_view>& allowed) const {
        if (!node.IsMap()) fail(node, "'" + std::string(section) + "' must be a mapping");
        std::vector<YAML::Node> unknown;
        for (const auto& item : node) {
            const std::string key = item.first.Scalar();
            bool known = false;
            for (std::string_view name : allowed) known = known || key == name;
            if (known) continue;
            const std::string message = "unknown key '" + key + "' in '" + std::string(section) + "'";
            if (report_ == nullptr) fail(item.first, message);
            report_->problems.push_back(where(item.first) + ": " + message);
            report_->sections_with_problems.insert(section == "top level" ? key : top_section(section));
            unknown.push_back(item.first);
        }
        // Set aside, so that the next pass over the document does not see them again.
        YAML::Node mapping = node;
        for (const YAML::Node& key : unknown) mapping.remove(key);
    }

    std::string string(const YAML::Node& node, std::string_view key) const {
        if (!node.IsScalar() || node.Scalar().empty()) fail(node, "'" + std::string(key) + "' must be a non-empty string");
        return node.Scalar();
    }

    bool boolean(const YAML::Node& node, std::string_view key) const {
        const std::string text = node.IsScalar() ? node.Scalar() : "";
        if (text == "true" || text == "yes" || text == "on") return true;
        if (text == "false" || text == "no" || text == "off") return false;
        fail(node, "'" + std::string(key) + "' must be true or false");
    }

    long long integer(const YAML::Node& node, std::string_view key, long long min, long long max) const {
        long long value = 0;
        try {
            if (!node.IsScalar()) throw YAML::Exception(node.Mark(), "not a scalar");
            size_t used = 0;
            value = std::stoll(node.Scalar(), &used, 0);  // 0660 reads as octal, as modes are written
            if (used != node.Scalar().size()) throw std::invalid_argument("trailing text");
        } catch (const std::exception&) {
            fail(node, "'" + std::string(key) + "' must be a whole number");
        }
        if (value < min || value > max) {
            fail(node, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
        }
        return value;
    }

    double number(const YAML::Node& node, std::string_view key, double min, double max) const {
        double value = 0;
        try {
            if (!node.IsScalar()) throw YAML::Exception(node.Mark(), "not a scalar");
            size_t used = 0;
            value = std::stod(node.Scalar(), &used);
            if (used != node.Scalar().size()) throw std::invalid_argument("trailing text");
        } catch (const std::exception&) {
            fail(node, "'" + std::string(key) + "' must be a number");
        }
        if (!(value >= min && value <= max)) {
            fail(node, "'" + std::string(key) + "' must be between " + fmt_number(min) + " and " + fmt_number(max));
        }
        return value;
    }

    static std::string fmt_number(double value) {
        std::ostringstream text;
        text << value;
        return text.str();
    }

    std::chrono::seconds seconds(const YAML::Node& node, std::string_view key, long long min, long long max) const {
        return std::chrono::seconds{integer(node, key, min, max)};
    }

    std::vector<std::string> strings(const YAML::Node& node, std::string_view key) const {
        std::vector<std::string> values;
        if (node.IsScalar()) {  // "a b c", as the original's space-separated scopes
            std::istringstream words(node.Scalar());
            for (std::string word; words >> word;) values.push_back(word);
            return values;
        }
        if (!node.IsSequence()) fail(node, "'" + std::string(key) + "' must be a list of strings");
        for (const auto& item : node) values.push_back(string(item, key));
        return values;
    }

    std::vector<long> ids(const YAML::Node& node, std::string_view key) const {
        if (!node.IsSequence()) fail(node, "'" + std::string(key) + "' must be a list of numeric ids");
        std::vector<long> values;
        for (const auto& item : node) values.push_back(static_cast<long>(integer(item, key, 0, 4294967294LL)));
        return values;
    }

    // "file: path" or "env: NAME", exactly one.
    void secret(const YAML::Node& node, std::string_view key, SecretSource* source) const {
        check_keys(node, key, {"file", "env"});
        if (node["file"] && node["env"]) fail(node, "'" + std::string(key) + "' takes either file or env, not both");
        if (node["file"]) source->file = string(node["file"], std::string(key) + ".file");
        if (node["env"]) source->env = string(node["env"], std::string(key) + ".env");
        if (source->file.empty() && source->env.empty()) fail(node, "'" + std::string(key) + "' needs file or env");
    }

    std::string url(const YAML::Node& node, std::string_view key) const {
        const std::string text = string(node, key);
        if (text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0) {
            fail(node, "'" + std::string(key) + "' must be an http:// or https:// URL");
        }
        return text;
    }

    // A provider endpoint: an https:// URL, or http:// only to a loopback host
    // (the client secret and refresh tokens travel to it).
    std::string provider_url(const YAML::Node& node, std::string_view key) const {
        const std::string text = url(node, key);
        if (!is_provider_url(text)) {
            fail(node, "'" + std::string(key) + "' must be an https:// URL (http:// is allowed only to a loopback "
                       "host: 127.0.0.0/8, ::1 or localhost), since the client secret and tokens travel in it");
        }
        return text;
    }

private:
    std::string_view source_;
    ConfigReport* report_;
};

void parse_log(const Reader& in, const YAML::Node& node, LogConfig* log) {
    in.check_keys(node, "log");
    if (node["format"]) {
        const std::string format = in.string(node["format"], "log.format");
        if (format != "auto" && format != "text" && format != "json") {
            in.fail(node["format"], "log.format must be one of auto, text, json");
            return;
        }
        log->format = format;
    }
    if (!node["level"]) return;
    const std::string level = in.string(node["level"], "log.level");
    const auto canonical = canonical_log_level(level);
    if (!canonical) {
        in.fail(node["level"], "log.level must be one of " + std::string(log_levels_accepted()));
        return;
    }
    log->level = std::string(*canonical);
}

void parse_store(const Reader& in, const YAML::Node& node, StoreConfig* store) {
    in.check_keys(node, "store");
    bool plugin_changed = false;
    if (node["plugin"]) {
        store->plugin = in.string(node["plugin"], "store.plugin");
        plugin_changed = true;
    }
    if (node["plugin_dir"]) store->plugin_dir = in.string(node["plugin_dir"], "store.plugin_dir");
    if (node["resync_interval"]) {
        store->resync_interval = in.seconds(node["resync_interval"], "store.resync_interval", 0, 86400);
    }
    if (node["options"]) {
        const YAML::Node& options = node["options"];
        if (!options.IsMap() && !options.IsNull()) in.fail(options, "'store.options' must be a mapping");
        try {
            store->options = options.IsNull() ? nlohmann::ordered_json::object() : yaml_to_json(options);
        } catch (const YamlNotJson& error) {
            in.fail(options, std::string("'store.options' ") + error.what());
        }
        // The plugin parses them again, and tokend copies and dumps them: bounded
        // like every JSON tokend handles (yaml-cpp's own limit keeps this dump safe),
        // and JSON text, which must be UTF-8 (found by fuzz/config_fuzzer.cpp).
        std::string dumped;
        try {
            dumped = store->options.dump();
        } catch (const nlohmann::json::type_error&) {
            in.fail(options, "'store.options' holds text that is not valid UTF-8");
        }
        if (!json_depth_within(dumped, kMaxJsonDepth)) {
            in.fail(options, "'store.options' nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
    } else if (plugin_changed) {
        // The default options belong to the default plugin; another plugin gets none.
        store->options = nlohmann::ordered_json::object();
    }
}

// A profile URL template: {api_base} is its one placeholder, and filled it
// must be a provider URL (checked after the whole integration is read).
std::string profile_url(const Reader& in, const YAML::Node& node, std::string_view key) {
    const std::string text = in.string(node, key);
    if (text.rfind("{api_base}", 0) != 0) in.url(node, key);
    return text;
}

// A list of error codes as answers carry them (1 to 64 of a-z and _).
std::vector<std::string> error_codes(const Reader& in, const YAML::Node& node, std::string_view key) {
    std::vector<std::string> codes = in.strings(node, key);
    for (const std::string& code : codes) {
        if (oauth_error_of(Json{{"error", code}}.dump()) != code) {
            in.fail(node, "'" + std::string(key) + "' holds OAuth error codes (1 to 64 of a-z and _), not '" + code + "'");
        }
    }
    return codes;
}

// integration.provider.message: none; or url and body, a request of its own;
// ok_path and retry_errors say how its answers are read, and alone they
// adjust the preset's request (docs/providers.md).
void parse_message(const Reader& in, const YAML::Node& message, ProviderProfile* profile) {
    if (message.IsScalar() && message.Scalar() == "none") {
        profile->message = {"", nullptr};
        profile->message_answer = {};
        return;
    }
    in.check_keys(message, "integration.provider.message");
    const bool reads_answers = message["ok_path"] || message["retry_errors"];
    if (message["url"] || message["body"] || !reads_answers) {
        if (!message["url"] || !message["body"]) {
            in.fail(message, "'integration.provider.message' needs url and body (or is none: only events tell the user's bot)");
        }
        profile->message.url = profile_url(in, message["url"], "integration.provider.message.url");
        const YAML::Node& body = message["body"];
        if (!body.IsMap()) in.fail(body, "'integration.provider.message.body' must be a mapping (the JSON body)");
        try {
            profile->message.body = yaml_to_json(body);
            (void)profile->message.body.dump();  // JSON text must be UTF-8
        } catch (const YamlNotJson& error) {
            in.fail(body, std::string("'integration.provider.message.body' ") + error.what());
        } catch (const nlohmann::json::type_error&) {
            in.fail(body, "'integration.provider.message.body' holds text that is not valid UTF-8");
        }
        if (!json_depth_within(profile->message.body.dump(), kMaxJsonDepth)) {
            in.fail(body, "'integration.provider.message.body' nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
    } else if (profile->message.url.empty()) {
        in.fail(message, "'integration.provider.message' says how answers are read, but the profile has no message "
                         "request: give url and body too");
    }
    if (const YAML::Node ok_path = message["ok_path"]) {
        // "" (or null): the HTTP status alone says the message was posted.
        profile->message_answer.ok_path =
            ok_path.IsNull() || (ok_path.IsScalar() && ok_path.Scalar().empty())
                ? ""
                : in.string(ok_path, "integration.provider.message.ok_path");
    }
    if (message["retry_errors"]) {
        profile->message_answer.retry_errors =
            error_codes(in, message["retry_errors"], "integration.provider.message.retry_errors");
    }
}

// integration.provider.revocation: none, or {url} (RFC 7009; docs/providers.md).
void parse_revocation(const Reader& in, const YAML::Node& node, ProviderProfile* profile) {
    const YAML::Node revocation = node["revocation"];
    if (!revocation) return;
    if (revocation.IsScalar() && revocation.Scalar() == "none") {
        profile->revocation = {};
        return;
    }
    in.check_keys(revocation, "integration.provider.revocation");
    if (!revocation["url"]) {
        in.fail(revocation, "'integration.provider.revocation' needs url (an RFC 7009 endpoint), or is none");
    }
    profile->revocation.url = profile_url(in, revocation["url"], "integration.provider.revocation.url");
}

// OpenID Connect (`identity: id_token`, issuer, jwks_uri) and the extra
// authorization parameters: their own keys, beside the identity request's.
void parse_openid(const Reader& in, const YAML::Node& node, ProviderProfile* profile) {
    OpenIdSettings& openid = profile->openid;
    if (const YAML::Node identity = node["identity"]; identity && identity.IsScalar()) {
        const std::string source = in.string(identity, "integration.provider.identity");
        if (source != "id_token" && source != "request") {
            in.fail(identity, "'integration.provider.identity' is id_token (OpenID Connect), request, or a mapping "
                              "(the identity request)");
        }
        openid.identity_source = source == "id_token" ? IdentitySource::id_token : IdentitySource::request;
    }
    if (node["issuer"]) {
        openid.issuer = in.string(node["issuer"], "integration.provider.issuer");
        if (const std::string problem = issuer_problem(openid.issuer); !problem.empty()) {
            in.fail(node["issuer"], "'integration.provider.issuer' " + problem);
        }
    }
    if (node["jwks_uri"]) openid.jwks_uri = in.provider_url(node["jwks_uri"], "integration.provider.jwks_uri");
    if (profile->discovery.enabled) {
        // The oidc preset: the rest comes from the issuer's discovery document.
        if (!node["issuer"]) in.fail(node, "'integration.provider' with preset oidc needs issuer");
        if (openid.identity_source != IdentitySource::id_token) {
            in.fail(node["identity"], "'integration.provider' with preset oidc takes the user from the id_token "
                                      "(identity: id_token)");
        }
        profile->discovery.jwks_uri_set = bool(node["jwks_uri"]);
        profile->discovery.client_auth_set = bool(node["client_auth"]);
        profile->discovery.revocation_set = bool(node["revocation"]);
    } else if (openid.identity_source == IdentitySource::id_token && (openid.issuer.empty() || openid.jwks_uri.empty())) {
        in.fail(node, "'integration.provider' with identity: id_token needs issuer and jwks_uri");
    }
    if (const YAML::Node params = node["authorize_params"]) {
        if (!params.IsMap()) in.fail(params, "'integration.provider.authorize_params' must be a mapping of names to values");
        profile->authorize_params.clear();
        for (const auto& param : params) {
            const std::string name = in.string(param.first, "integration.provider.authorize_params");
            static const std::vector<std::string> reserved = {"client_id", "response_type", "redirect_uri", "scope",
                                                              "user_scope", "state", "nonce", "code_challenge",
                                                              "code_challenge_method"};
            if (name.empty() || std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
                in.fail(param.first, "'integration.provider.authorize_params' cannot set '" + name + "': tokend sets it");
            }
            profile->authorize_params.emplace_back(name, in.string(param.second, "integration.provider.authorize_params." + name));
        }
    }
}

// integration.provider: a preset's name, or a mapping with `preset` (default
// webex) and the fields it overrides. Read before the integration's own
// endpoint keys, which override the preset's.
void parse_provider(const Reader& in, const YAML::Node& node, OAuthSettings* oauth) {
    if (node.IsScalar()) {
        const std::string name = in.string(node, "integration.provider");
        if (!apply_provider_preset(name, oauth)) in.fail(node, "unknown provider preset '" + name + "' (known: " + preset_list() + ")");
        if (oauth->provider.discovery.enabled) {
            in.fail(node, "'integration.provider: oidc' needs the issuer: write provider: {preset: oidc, issuer: URL}");
        }
        return;
    }
    in.check_keys(node, "integration.provider");
    if (node["preset"]) {
        const std::string name = in.string(node["preset"], "integration.provider.preset");
        if (!apply_provider_preset(name, oauth)) {
            in.fail(node["preset"], "unknown provider preset '" + name + "' (known: " + preset_list() + ")");
        }
    }
    ProviderProfile& profile = oauth->provider;
    if (node["client_auth"]) {
        const std::string method = in.string(node["client_auth"], "integration.provider.client_auth");
        if (method == "client_secret_post") {
            profile.client_auth = ClientAuth::client_secret_post;
        } else if (method == "client_secret_basic") {
            profile.client_auth = ClientAuth::client_secret_basic;
        } else {
            in.fail(node["client_auth"], "'integration.provider.client_auth' must be client_secret_post or client_secret_basic");
        }
    }
    if (node["scope_separator"]) {
        const YAML::Node& separator = node["scope_separator"];
        if (!separator.IsScalar() || (separator.Scalar() != " " && separator.Scalar() != ",")) {
            in.fail(separator, "'integration.provider.scope_separator' must be \" \" or \",\"");
        }
        profile.scope_separator = separator.Scalar();
    }
    if (node["scope_param"]) {
        const YAML::Node& param = node["scope_param"];
        const std::string name = in.string(param, "integration.provider.scope_param");
        if (name != "scope" && name != "user_scope") {
            in.fail(param, "'integration.provider.scope_param' must be scope or user_scope (Slack's user token scopes)");
        }
        profile.scope_param = name;
    }
    if (node["token_path"]) profile.token_path = in.string(node["token_path"], "integration.provider.token_path");
    if (node["rotating_refresh_tokens"]) {
        profile.rotating_refresh_tokens =
            in.boolean(node["rotating_refresh_tokens"], "integration.provider.rotating_refresh_tokens");
    }
    if (node["refresh_sends_scope"]) {
        profile.refresh_sends_scope = in.boolean(node["refresh_sends_scope"], "integration.provider.refresh_sends_scope");
    }
    parse_openid(in, node, &profile);
    if (const YAML::Node identity = node["identity"]; identity && !identity.IsScalar()) {
        in.check_keys(identity, "integration.provider.identity");
        if (identity["url"]) profile.identity.url = profile_url(in, identity["url"], "integration.provider.identity.url");
        if (identity["user_id"]) {
            profile.identity.user_id_path = in.string(identity["user_id"], "integration.provider.identity.user_id");
        }
        if (identity["numeric_user_id"]) {
            profile.identity.numeric_user_id =
                in.boolean(identity["numeric_user_id"], "integration.provider.identity.numeric_user_id");
        }
        if (identity["display"]) {
            // An empty display: the wrong-user page names no account.
            profile.identity.display_path = identity["display"].IsNull() ? "" : in.string(identity["display"],
                                                                                      "integration.provider.identity.display");
        }
    }
    if (const YAML::Node message = node["message"]) parse_message(in, message, &profile);
    parse_revocation(in, node, &profile);
    if (const YAML::Node dead = node["dead_grant"]) {
        in.check_keys(dead, "integration.provider.dead_grant");
        if (dead["errors"]) {
            profile.dead_grant.errors = error_codes(in, dead["errors"], "integration.provider.dead_grant.errors");
        }
        if (dead["statuses"]) {
            const YAML::Node& statuses = dead["statuses"];
            if (!statuses.IsSequence()) in.fail(statuses, "'integration.provider.dead_grant.statuses' must be a list of HTTP statuses");
            profile.dead_grant.statuses.clear();
            for (const auto& status : statuses) {
                profile.dead_grant.statuses.push_back(
                    static_cast<int>(in.integer(status, "integration.provider.dead_grant.statuses", 400, 599)));
            }
        }
    }
}

void parse_integration(const Reader& in, const YAML::Node& node, IntegrationConfig* integration,
                       std::string_view section = "integration") {
    in.check_keys(node, section);
    OAuthSettings& oauth = integration->oauth;
    if (node["provider"]) parse_provider(in, node["provider"], &oauth);
    if (!node["client_id"]) in.fail(node, "'integration' needs client_id");
    if (!node["redirect_url"]) in.fail(node, "'integration' needs redirect_url");
    oauth.client_id = in.string(node["client_id"], "integration.client_id");
    oauth.redirect_url = in.url(node["redirect_url"], "integration.redirect_url");
    if (node["client_secret"]) {
        if (node["client_secret"].IsScalar()) {
            in.fail(node["client_secret"],
                    "'integration.client_secret' takes {file: PATH} or {env: NAME}; "
                    "the secret itself does not belong in this file");
        }
        in.secret(node["client_secret"], "integration.client_secret", &integration->client_secret_source);
    }
    if (node["bot_token"]) {
        if (node["bot_token"].IsScalar()) {
            in.fail(node["bot_token"], "'integration.bot_token' takes {file: PATH} or {env: NAME}");
        }
        in.secret(node["bot_token"], "integration.bot_token", &integration->bot_token_source);
    }
    if (node["scopes"]) oauth.scopes = in.strings(node["scopes"], "integration.scopes");
    if (node["auth_service"]) oauth.auth_service = in.provider_url(node["auth_service"], "integration.auth_service");
    if (node["token_service"]) oauth.token_service = in.provider_url(node["token_service"], "integration.token_service");
    if (node["api_base"]) {
        oauth.api_base = in.provider_url(node["api_base"], "integration.api_base");
        while (!oauth.api_base.empty() && oauth.api_base.back() == '/') oauth.api_base.pop_back();
    }
    if (node["pkce"]) oauth.pkce = in.boolean(node["pkce"], "integration.pkce");
    // The oidc preset: what was set here wins over the discovery document.
    DiscoverySettings& discovery = oauth.provider.discovery;
    if (discovery.enabled) {
        discovery.auth_service_set = bool(node["auth_service"]);
        discovery.token_service_set = bool(node["token_service"]);
        discovery.pkce_set = bool(node["pkce"]);
    }
    if (node["request_timeout_ms"]) {
        integration->request_timeout =
            std::chrono::milliseconds(in.integer(node["request_timeout_ms"], "integration.request_timeout_ms", 100, 300000));
    }
    // The profile's URL templates, filled, go where the endpoints may go.
    for (const auto& [key, url] : {std::pair{"identity.url", oauth.provider.identity.url},
                                  std::pair{"message.url", oauth.provider.message.url},
                                  std::pair{"revocation.url", oauth.provider.revocation.url}}) {
        const std::string filled = provider_url(url, oauth);
        if (!filled.empty() && !is_provider_url(filled)) {
            in.fail(node["provider"] ? node["provider"] : node,
                    std::string("'integration.provider.") + key + "' is " + filled +
                        " once {api_base} is filled: it must be an https:// URL (http:// only to a loopback host)");
        }
    }
    integration->configured = true;
}

HttpListen parse_listen_address(const Reader& in, const YAML::Node& node, const std::string& key) {
    const std::string text = in.string(node, key);
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) in.fail(node, key + " entries look like 127.0.0.1:6001 or [::1]:6001");
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    YAML::Node port_node(text.substr(colon + 1));
    return HttpListen{host, static_cast<int>(in.integer(port_node, key + " port", 0, 65535))};
}

// One address or a list of them (http.listen, metrics.listen).
std::vector<HttpListen> parse_listen(const Reader& in, const YAML::Node& listen, const std::string& key) {
    std::vector<HttpListen> addresses;
    if (listen.IsScalar()) {
        addresses.push_back(parse_listen_address(in, listen, key));
    } else if (listen.IsSequence()) {
        for (const auto& item : listen) addresses.push_back(parse_listen_address(in, item, key));
    } else {
        in.fail(listen, "'" + key + "' must be an address or a list of addresses");
    }
    return addresses;
}

void parse_http(const Reader& in, const YAML::Node& node, HttpConfig* http) {
    in.check_keys(node, "http");
    if (node["listen"]) http->listen = parse_listen(in, node["listen"], "http.listen");
    if (node["max_connections"]) http->max_connections = static_cast<size_t>(in.integer(node["max_connections"], "http.max_connections", 1, 1000000));
    if (node["request_timeout_ms"]) http->request_timeout = std::chrono::milliseconds(in.integer(node["request_timeout_ms"], "http.request_timeout_ms", 100, 600000));
    if (node["idle_timeout_ms"]) http->idle_timeout = std::chrono::milliseconds(in.integer(node["idle_timeout_ms"], "http.idle_timeout_ms", 100, 3600000));
}

void parse_metrics(const Reader& in, const YAML::Node& node, MetricsConfig* metrics) {
    in.check_keys(node, "metrics");
    if (node["listen"]) metrics->listen = parse_listen(in, node["listen"], "metrics.listen");
}

void parse_access(const Reader& in, const YAML::Node& node, std::string_view key, AccessList* access) {
    in.check_keys(node, key, {"uids", "gids"});
    if (node["uids"]) access->uids = in.ids(node["uids"], std::string(key) + ".uids");
    if (node["gids"]) access->gids = in.ids(node["gids"], std::string(key) + ".gids");
}

void parse_control(const Reader& in, const YAML::Node& node, ControlConfig* control) {
    in.check_keys(node, "control");
    if (node["socket"]) control->socket = in.string(node["socket"], "control.socket");
    if (node["mode"]) control->mode = static_cast<unsigned>(in.integer(node["mode"], "control.mode", 0, 0777));
    if (node["group"]) control->group = in.string(node["group"], "control.group");
    if (node["max_line_bytes"]) control->max_line_bytes = static_cast<size_t>(in.integer(node["max_line_bytes"], "control.max_line_bytes", 1024, 16 << 20));
    if (node["max_connections"]) control->max_connections = static_cast<size_t>(in.integer(node["max_connections"], "control.max_connections", 1, 1000000));
    if (node["idle_timeout_ms"]) control->idle_timeout = std::chrono::milliseconds(in.integer(node["idle_timeout_ms"], "control.idle_timeout_ms", 0, 86400000));
    if (node["allow"]) {
        in.check_keys(node["allow"], "control.allow");
        if (node["allow"]["read"]) parse_access(in, node["allow"]["read"], "control.allow.read", &control->read);
        if (node["allow"]["write"]) parse_access(in, node["allow"]["write"], "control.allow.write", &control->write);
    }
    if (node["refresh_token_readers"]) {
        parse_access(in, node["refresh_token_readers"], "control.refresh_token_readers", &control->refresh_token_readers);
        control->refresh_token_readers_set = true;
    }
}

void parse_flows(const Reader& in, const YAML::Node& node, FlowSettings* flows) {
    in.check_keys(node, "flows");
    if (node["ttl"]) flows->ttl = in.seconds(node["ttl"], "flows.ttl", 1, 86400);
    if (node["maintenance_interval"]) {
        flows->maintenance_interval = in.seconds(node["maintenance_interval"], "flows.maintenance_interval", 1, 86400);
    }
    if (node["allow_without_pkce"]) {
        flows->allow_without_pkce = in.boolean(node["allow_without_pkce"], "flows.allow_without_pkce");
    }
}

void parse_links(const Reader& in, const YAML::Node& node, LinkSettings* links) {
    in.check_keys(node, "links");
    if (node["ttl"]) links->ttl = in.seconds(node["ttl"], "links.ttl", 60, 366LL * 86400);
    if (node["url"]) links->url = in.url(node["url"], "links.url");
    if (node["key_file"]) links->key_file = in.string(node["key_file"], "links.key_file");
}

void parse_refresh(const Reader& in, const YAML::Node& node, RefreshConfig* refresh) {
    in.check_keys(node, "refresh");
    constexpr long long kYear = 366LL * 86400;
    RefreshPolicy& policy = refresh->policy;
    if (node["margin"]) policy.margin = in.seconds(node["margin"], "refresh.margin", 0, kYear);
    if (node["fraction"]) policy.fraction = in.number(node["fraction"], "refresh.fraction", 0.0, 0.5);
    if (node["jitter"]) policy.jitter = in.number(node["jitter"], "refresh.jitter", 0.0, 0.5);
    if (node["read_margin"]) policy.read_margin = in.seconds(node["read_margin"], "refresh.read_margin", 0, 86400);
    if (node["refresh_token_margin"]) {
        policy.refresh_token_margin = in.seconds(node["refresh_token_margin"], "refresh.refresh_token_margin", 0, kYear);
    }
    if (node["keepalive"]) policy.keepalive = in.seconds(node["keepalive"], "refresh.keepalive", 60, 10 * kYear);
    if (node["retry_base_ms"]) {
        policy.retry_base = std::chrono::milliseconds(in.integer(node["retry_base_ms"], "refresh.retry_base_ms", 10, 600000));
    }
    if (node["retry_cap"]) policy.retry_cap = in.seconds(node["retry_cap"], "refresh.retry_cap", 1, 86400);
    if (policy.retry_cap < policy.retry_base) in.fail(node, "'refresh.retry_cap' must not be shorter than retry_base_ms");
    TokenEndpointLimits& limits = refresh->limits;
    if (node["max_concurrent"]) {
        limits.max_concurrent = static_cast<size_t>(in.integer(node["max_concurrent"], "refresh.max_concurrent", 1, 1000));
    }
    if (node["rate"]) limits.rate_per_second = in.number(node["rate"], "refresh.rate", 0.0, 100000.0);
    if (node["burst"]) limits.burst = in.number(node["burst"], "refresh.burst", 1.0, 100000.0);
}

// The text fields of MessageTexts by their configuration key.
std::vector<std::pair<const char*, std::string*>> message_fields(MessageTexts* texts) {
    return {{"authenticated", &texts->authenticated}, {"wrong_user", &texts->wrong_user},
            {"denied", &texts->denied},               {"provider_error", &texts->provider_error},
            {"expired", &texts->expired},             {"store_failed", &texts->store_failed},
            {"reauth_required", &texts->reauth_required}};
}

void parse_messages(const Reader& in, const YAML::Node& node, MessageTexts* texts) {
    in.check_keys(node, "messages");
    for (const auto& [key, target] : message_fields(texts)) {
        if (node[key]) *target = in.string(node[key], std::string("messages.") + key);
    }
}

bool valid_integration_name(const std::string& name) {
    if (name.empty() || name.size() > 32) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

// integrations: a list of integrations, each an `integration` section with a
// name (and its own messages); the one marked default (else the first) keeps
// the original's store keys and becomes config->integration.
void parse_integrations(const Reader& in, const YAML::Node& node, Config* config) {
    if (!node.IsSequence() || node.size() == 0) {
        in.fail(node, "'integrations' must be a list of integrations, each with a name (see docs/providers.md)");
    }
    std::vector<IntegrationConfig> all;
    std::vector<YAML::Node> name_nodes;
    size_t default_index = 0;
    bool default_marked = false;
    for (const auto& item : node) {
        if (!item.IsMap()) in.fail(item, "each of 'integrations' must be a mapping with a name");
        if (!item["name"]) in.fail(item, "each of 'integrations' needs a name ([a-z0-9_-], up to 32 characters)");
        IntegrationConfig integration;
        integration.name = in.string(item["name"], "integrations.name");
        if (!valid_integration_name(integration.name)) {
            in.fail(item["name"], "'integrations.name' " + integration.name +
                                      ": use 1 to 32 of a-z, 0-9, '_' and '-' (it is part of store keys)");
        }
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i].name == integration.name) {
                in.fail(item["name"], "integration name '" + integration.name + "' is used twice (first at line " +
                                          std::to_string(name_nodes[i].Mark().line + 1) + ")");
            }
        }
        parse_integration(in, item, &integration, "integrations");
        if (item["default"] && in.boolean(item["default"], "integrations.default")) {
            if (default_marked) in.fail(item["default"], "only one of 'integrations' may be the default");
            default_marked = true;
            default_index = all.size();
        }
        if (item["messages"]) {
            const YAML::Node& messages = item["messages"];
            in.check_keys(messages, "messages");
            MessageTexts names;
            for (const auto& [key, target] : message_fields(&names)) {
                if (messages[key]) {
                    integration.message_texts[key] = in.string(messages[key], std::string("integrations.messages.") + key);
                }
            }
        }
        all.push_back(std::move(integration));
        name_nodes.push_back(item["name"]);
    }
    config->integration = std::move(all[default_index]);
    for (size_t i = 0; i < all.size(); ++i) {
        if (i == default_index) continue;
        // The systemd credentials tried last are the integration's own.
        IntegrationConfig& other = all[i];
        other.client_secret_source.credential_name = other.name + "_client_secret";
        other.bot_token_source.credential_name = other.name + "_bot_token";
        config->other_integrations.push_back(std::move(other));
    }
}

void parse_encryption(const Reader& in, const YAML::Node& node, EncryptionConfig* encryption) {
    in.check_keys(node, "encryption");
    if (node["keys"]) {
        const YAML::Node& keys = node["keys"];
        if (!keys.IsSequence()) in.fail(keys, "'encryption.keys' must be a list of {id, file} or {id, credential}");
        for (const auto& item : keys) {
            in.check_keys(item, "encryption.keys", {"id", "file", "credential"});
            if (!item["id"]) in.fail(item, "each of 'encryption.keys' needs an id");
            EncryptionKeySource key;
            key.id = in.string(item["id"], "encryption.keys.id");
            if (const std::string problem = check_key_id(key.id); !problem.empty()) {
                in.fail(item["id"], "'encryption.keys.id': " + problem);
            }
            for (const EncryptionKeySource& seen : encryption->keys) {
                if (seen.id == key.id) in.fail(item["id"], "key id '" + key.id + "' is listed twice in 'encryption.keys'");
            }
            if (item["file"] && item["credential"]) in.fail(item, "key '" + key.id + "' takes file or credential, not both");
            if (item["file"]) key.source.file = in.string(item["file"], "encryption.keys.file");
            if (item["credential"]) key.source.credential_name = in.string(item["credential"], "encryption.keys.credential");
            if (key.source.file.empty() && key.source.credential_name.empty()) {
                in.fail(item, "key '" + key.id + "' needs file (a path) or credential (a systemd credential name); "
                              "the key itself does not belong in this file");
            }
            encryption->keys.push_back(std::move(key));
        }
    }
    if (node["active_key"] && !node["active_key"].IsNull()) {
        encryption->active_key = in.string(node["active_key"], "encryption.active_key");
        bool listed = false;
        for (const EncryptionKeySource& key : encryption->keys) listed = listed || key.id == encryption->active_key;
        if (!listed) {
            in.fail(node["active_key"], "'encryption.active_key' " + encryption->active_key +
                                            " is not one of 'encryption.keys'");
        }
    }
}

}  // namespace

Config default_config(const ConfigEnvironment& env) {
    Config config;
    config.state_dir = env.state_directory.empty() ? "state" : env.state_directory;
    config.runtime_dir = env.runtime_directory.empty() ? "run" : env.runtime_directory;
    config.store.options = {{"path", config.state_dir + "/users.yml"}};
    config.control.socket = config.runtime_dir + "/tokend.sock";
    return config;
}

namespace {

// One pass over a loaded document: the first problem is thrown (a
// ConfigProblemAt); unknown keys go to the report when there is one.
Config parse_document(const YAML::Node& root, std::string_view source, const ConfigEnvironment& env,
                      ConfigReport* report) {
    Config config = default_config(env);
    const Reader in(source, report);
    if (root.IsNull()) return config;  // an empty file: all defaults
    in.check_keys(root, "top level");
    if (root["state_dir"]) {
        config.state_dir = in.string(root["state_dir"], "state_dir");
        config.store.options = {{"path", config.state_dir + "/users.yml"}};
    }
    if (root["runtime_dir"]) {
        config.runtime_dir = in.string(root["runtime_dir"], "runtime_dir");
        config.control.socket = config.runtime_dir + "/tokend.sock";
    }
    if (root["log"]) parse_log(in, root["log"], &config.log);
    if (root["store"]) parse_store(in, root["store"], &config.store);
    if (root["integration"] && root["integrations"]) {
        in.fail(root["integrations"], "give 'integration' (one) or 'integrations' (a list), not both");
    }
    if (root["integration"]) parse_integration(in, root["integration"], &config.integration);
    if (root["integrations"]) parse_integrations(in, root["integrations"], &config);
    if (root["flows"]) parse_flows(in, root["flows"], &config.flows);
    if (root["links"]) parse_links(in, root["links"], &config.links);
    if (root["refresh"]) parse_refresh(in, root["refresh"], &config.refresh);
    if (root["messages"]) parse_messages(in, root["messages"], &config.messages);
    if (root["http"]) parse_http(in, root["http"], &config.http);
    if (root["control"]) parse_control(in, root["control"], &config.control);
    if (root["metrics"]) parse_metrics(in, root["metrics"], &config.metrics);
    if (root["encryption"]) parse_encryption(in, root["encryption"], &config.encryption);
    return config;
}

// Sets aside the key whose value holds the problem at `mark`: the deepest key
// of nested mappings whose value contains it, or the key itself when the
// problem is its whole value. False when no key holds it (nothing to set aside).
bool set_aside(YAML::Node mapping, const YAML::Mark& mark, int depth, std::string* top_key) {
    if (!mapping.IsMap() || mark.pos < 0) return false;
    // The key that starts last before the mark. (Nodes are found by position,
    // never assigned: assigning a YAML::Node that holds a node rewires the tree.)
    int best = -1;
    for (const auto& item : mapping) {
        const int at = item.first.Mark().pos;
        if (at >= 0 && at <= mark.pos && at > best) best = at;
    }
    if (best < 0) return false;
    for (const auto& item : mapping) {
        if (item.first.Mark().pos != best) continue;
        if (depth == 0) *top_key = item.first.IsScalar() ? item.first.Scalar() : "";
        const YAML::Node& value = item.second;
        const bool inside = value.IsMap() && value.Mark().pos >= 0 && value.Mark().pos < mark.pos && best != mark.pos;
        if (inside && set_aside(value, mark, depth + 1, top_key)) return true;
        const YAML::Node key = item.first;
        mapping.remove(key);
        return true;
    }
    return false;
}

// "store.options.path" -> line, for the three upper levels of mappings.
void record_key_lines(const YAML::Node& mapping, const std::string& prefix, int depth,
                      std::map<std::string, int>* lines) {
    if (!mapping.IsMap() || depth >= 3) return;
    for (const auto& item : mapping) {
        if (!item.first.IsScalar()) continue;
        const std::string path = prefix + item.first.Scalar();
        if (item.first.Mark().line >= 0) lines->emplace(path, item.first.Mark().line + 1);
        record_key_lines(item.second, path + ".", depth + 1, lines);
    }
}

}  // namespace

MessageTexts messages_of(const Config& config, const IntegrationConfig& integration) {
    MessageTexts texts = config.messages;
    for (const auto& [key, target] : message_fields(&texts)) {
        if (auto it = integration.message_texts.find(key); it != integration.message_texts.end()) *target = it->second;
    }
    return texts;
}

Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env,
                    ConfigReport* report) {
    for (const DuplicateKey& duplicate : find_duplicate_keys(yaml_text)) {
        report->problems.push_back(std::string(source) + ":" + std::to_string(duplicate.line) + ": duplicate key '" +
                                   duplicate.key + "' (first at line " + std::to_string(duplicate.first_line) +
                                   "); only one of them would be used: keep one");
    }
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::ParserException& error) {
        report->problems.push_back(std::string(source) + ":" + std::to_string(error.mark.line + 1) +
                                   ": not valid YAML: " + error.msg);
        return default_config(env);
    }
    // Each failed pass sets one key aside (a key the schema knows: unknown keys
    // are all set aside in the first pass), so this ends within about as many
    // passes as the schema has keys; the bound is a safety net.
    constexpr size_t kMaxPasses = 100;
    for (size_t pass = 0; pass < kMaxPasses; ++pass) {
        try {
            Config config = parse_document(root, source, env, report);
            record_key_lines(root, "", 0, &config.key_lines);
            return config;
        } catch (const ConfigProblemAt& problem) {
            report->problems.push_back(problem.what());
            std::string section;
            const bool set = set_aside(root, problem.mark, 0, &section);
            if (!section.empty()) report->sections_with_problems.insert(section);
            if (!set) return default_config(env);
        }
    }
    report->problems.push_back(std::string(source) + ": more than " + std::to_string(kMaxPasses) +
                               " bad values; the rest are not listed");
    return default_config(env);
}

Config parse_config(std::string_view yaml_text, std::string_view source, const ConfigEnvironment& env) {
    ConfigReport report;
    Config config = parse_config(yaml_text, source, env, &report);
    if (report.ok()) return config;
    std::string message;
    for (const std::string& problem : report.problems) message += (message.empty() ? "" : "\n") + problem;
    throw ConfigError(message);
}

Config load_config_file(const std::string& path, const ConfigEnvironment& env) {
    std::ifstream file(path);
    if (!file) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) throw ConfigError(path + ": error while reading the configuration file");
    return parse_config(text.str(), path, env);
}

Config load_config_file(const std::string& path, const ConfigEnvironment& env, ConfigReport* report) {
    try {
        std::ifstream file(path);
        if (!file) throw ConfigError(path + ": cannot read the configuration file");
        std::ostringstream text;
        text << file.rdbuf();
        if (file.bad()) throw ConfigError(path + ": error while reading the configuration file");
        return parse_config(text.str(), path, env, report);
    } catch (const ConfigError& error) {
        report->problems.push_back(error.what());
        return default_config(env);
    }
}

}  // namespace tokend
