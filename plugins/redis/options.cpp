#include "options.h"

#include "option_helpers.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace tokend::redis_store {
namespace {

using plugin_support::number_option;
using plugin_support::parse_options_object;
using plugin_support::printable;
using plugin_support::string_option;
using plugin_support::unknown_option;

Status invalid(std::string message) { return Status::error(TOKEND_INVALID, std::move(message)); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX in the user-info part of a URL (a password may hold '@' or ':').
bool percent_decode(std::string_view text, std::string* out) {
    out->clear();
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            *out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return false;
        const int high = hex_digit(text[i + 1]);
        const int low = hex_digit(text[i + 2]);
        if (high < 0 || low < 0) return false;
        *out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return true;
}

template <typename Number>
bool parse_number(std::string_view text, Number* out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The password file holds the password alone; one trailing newline is not part of it.
Status read_password_file(const std::string& path, std::string* out) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return invalid("option \"password_file\": cannot read " + printable(path));
    std::ostringstream text;
    text << file.rdbuf();
    std::string password = text.str();
    if (!password.empty() && password.back() == '\n') password.pop_back();
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) return invalid("option \"password_file\": " + printable(path) + " is empty");
    *out = std::move(password);
    return Status::success();
}

Status bool_option(const nlohmann::json& value, const char* name, bool* out) {
    if (!value.is_boolean()) return invalid(std::string("option \"") + name + "\" must be true or false");
    *out = value.get<bool>();
    return Status::success();
}

}  // namespace

std::string Endpoint::describe() const {
    if (unix_path.empty() && host.empty()) return "the Sentinel master";  // not asked yet
    if (!unix_path.empty()) return "unix:" + unix_path;
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status parse_url(std::string_view url, Endpoint* out) {
    Endpoint endpoint;
    if (url.starts_with("rediss://")) {
        // The rest reads as after redis://.
        Endpoint parsed;
        if (Status status = parse_url("redis://" + std::string(url.substr(9)), &parsed); !status.ok()) {
            return status;
        }
        parsed.tls = true;
        *out = std::move(parsed);
        return Status::success();
    }
    if (url.starts_with("unix://")) {
        endpoint.unix_path = std::string(url.substr(7));
        if (endpoint.unix_path.empty() || endpoint.unix_path.front() != '/') {
            return invalid("redis_url: unix:// needs an absolute path, e.g. unix:///run/redis/redis.sock");
        }
        *out = std::move(endpoint);
        return Status::success();
    }
    if (!url.starts_with("redis://")) {
        return invalid("redis_url must start with redis://, rediss:// or unix:// (got \"" +
                       printable(url.substr(0, url.find(':'))) + ":...\")");
    }
    std::string_view rest = url.substr(8);
    std::string_view path;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const size_t colon = userinfo.find(':');
        const std::string_view user = userinfo.substr(0, colon);
        const std::string_view password =
            colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
        if (!percent_decode(user, &endpoint.username) || !percent_decode(password, &endpoint.password)) {
            return invalid("redis_url: bad %-escape in the user or password part");
        }
    }
    std::string_view port;
    if (rest.starts_with("[")) {  // [::1]:6379
        const size_t close = rest.find(']');
        if (close == std::string_view::npos) return invalid("redis_url: unclosed [ in the host");
        endpoint.host = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        if (rest.starts_with(":")) port = rest.substr(1);
        else if (!rest.empty()) return invalid("redis_url: unexpected text after the host");
    } else {
        const size_t colon = rest.find(':');
        endpoint.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    }
    if (endpoint.host.empty()) endpoint.host = "localhost";  // as redis-py does
    if (!port.empty() && (!parse_number(port, &endpoint.port) || endpoint.port == 0)) {
        return invalid("redis_url: the port must be a number from 1 to 65535");
    }
    if (!path.empty() && (!parse_number(path, &endpoint.db) || endpoint.db < 0)) {
        return invalid("redis_url: the database after / must be a number");
    }
    *out = std::move(endpoint);
    return Status::success();
}

Status parse_options(std::string_view config_json, Options* out, plugin_support::OptionProblems* problems) {
    nlohmann::json config;
    if (Status status = parse_options_object(config_json, &config); !status.ok()) return status;

    Options options;
    std::string url, host, username, password, password_file;
    uint64_t port = 0, db = 0, connect_ms = options.connect_timeout_ms,
             command_ms = options.command_timeout_ms, wait_replicas = 0,
             wait_timeout_ms = options.wait_timeout_ms;
    bool has_port = false, has_db = false, tls = false, has_tls = false, any_tls_option = false;
    std::string wait_on_timeout = "fail";
    for (const auto& [name, value] : config.items()) {
        Status status;
        if (name == "redis_url") {
            status = string_option(value, "redis_url", &url);
        } else if (name == "redis_host") {
            status = string_option(value, "redis_host", &host);
        } else if (name == "redis_port") {
            status = number_option(value, "redis_port", 1, 65535, &port);
            has_port = true;
        } else if (name == "redis_db") {
            status = number_option(value, "redis_db", 0, 1 << 20, &db);
            has_db = true;
        } else if (name == "username") {
            status = string_option(value, "username", &username);
        } else if (name == "password") {
            status = string_option(value, "password", &password);
        } else if (name == "password_file") {
            status = string_option(value, "password_file", &password_file);
        } else if (name == "key_prefix") {
            status = string_option(value, "key_prefix", &options.key_prefix, true);
        } else if (name == "channel") {
            status = string_option(value, "channel", &options.channel);
        } else if (name == "connect_timeout_ms") {
            status = number_option(value, "connect_timeout_ms", 1, 600000, &connect_ms);
        } else if (name == "command_timeout_ms") {
            status = number_option(value, "command_timeout_ms", 1, 600000, &command_ms);
        } else if (name == "sentinels") {
            if (!value.is_array() || value.empty()) {
                status = invalid("option \"sentinels\" must be a list of \"host:port\"");
            }
            for (const auto& item : value) {
                if (!status.ok()) break;
                std::string text;
                Endpoint parsed;
                status = string_option(item, "sentinels", &text);
                if (status.ok()) status = parse_url("redis://" + text, &parsed);
                if (!status.ok() || text.find('@') != std::string::npos || text.find('/') != std::string::npos) {
                    status = invalid("option \"sentinels\": each entry is \"host:port\" (got \"" +
                                     printable(text) + "\")");
                    break;
                }
                const bool has_port = text.rfind(':') != std::string::npos && text.back() != ']';
                options.sentinels.push_back({parsed.host, has_port ? parsed.port : uint16_t{26379}});
            }
        } else if (name == "sentinel_master") {
            status = string_option(value, "sentinel_master", &options.sentinel_master);
        } else if (name == "tls") {
            status = bool_option(value, "tls", &tls);
            has_tls = true;
        } else if (name == "tls_ca_file") {
            status = string_option(value, "tls_ca_file", &options.tls.ca_file);
            any_tls_option = true;
        } else if (name == "tls_ca_dir") {
            status = string_option(value, "tls_ca_dir", &options.tls.ca_dir);
            any_tls_option = true;
        } else if (name == "tls_cert_file") {
            status = string_option(value, "tls_cert_file", &options.tls.cert_file);
            any_tls_option = true;
        } else if (name == "tls_key_file") {
            status = string_option(value, "tls_key_file", &options.tls.key_file);
            any_tls_option = true;
        } else if (name == "tls_server_name") {
            status = string_option(value, "tls_server_name", &options.tls.server_name);
            any_tls_option = true;
        } else if (name == "tls_skip_verify") {
            status = bool_option(value, "tls_skip_verify", &options.tls.skip_verify);
            any_tls_option = true;
        } else if (name == "wait_replicas") {
            status = number_option(value, "wait_replicas", 0, 100, &wait_replicas);
        } else if (name == "wait_timeout_ms") {
            status = number_option(value, "wait_timeout_ms", 1, 600000, &wait_timeout_ms);
        } else if (name == "wait_on_timeout") {
            status = string_option(value, "wait_on_timeout", &wait_on_timeout);
            if (status.ok() && wait_on_timeout != "fail" && wait_on_timeout != "warn") {
                status = invalid("option \"wait_on_timeout\" must be \"fail\" or \"warn\" (got \"" +
                                 printable(wait_on_timeout) + "\")");
            }
        } else {
            status = unknown_option(name,
                                    "redis_url, redis_host, redis_port, redis_db, username, password, "
                                    "password_file, key_prefix, channel, connect_timeout_ms, "
                                    "command_timeout_ms, tls, tls_ca_file, tls_ca_dir, tls_cert_file, "
                                    "tls_key_file, tls_server_name, tls_skip_verify, sentinels, "
                                    "sentinel_master, wait_replicas, wait_timeout_ms, wait_on_timeout");
        }
        if (!status.ok() && plugin_support::stop_parsing(status, name, problems)) return status;
    }
    if (problems != nullptr && !problems->empty()) return invalid("");
    // As the original: redis_host wins over redis_url, and names "host" or "host:port".
    if (!host.empty()) {
        options.url_ignored = !url.empty();
        if (Status status = parse_url("redis://" + host, &options.endpoint); !status.ok()) {
            return invalid("redis_host" + status.message.substr(status.message.find(':')));
        }
    } else if (!url.empty()) {
        if (Status status = parse_url(url, &options.endpoint); !status.ok()) return status;
    } else if (options.sentinels.empty()) {
        return invalid("one of the options \"redis_url\" or \"redis_host\" is required");
    }
    if (options.sentinels.empty() != options.sentinel_master.empty()) {
        return invalid("Sentinel needs both \"sentinels\" and \"sentinel_master\"");
    }
    if (!options.sentinels.empty() && !options.endpoint.unix_path.empty()) {
        return invalid("with \"sentinels\", redis_url gives credentials and the database only: not unix://");
    }
    Endpoint& endpoint = options.endpoint;
    if (has_port) {
        if (!endpoint.unix_path.empty()) return invalid("option \"redis_port\" does not apply to unix://");
        endpoint.port = static_cast<uint16_t>(port);
    }
    if (has_db) endpoint.db = static_cast<int>(db);
    if (!password.empty() && !password_file.empty()) {
        return invalid("give either \"password\" or \"password_file\", not both");
    }
    if (!password_file.empty()) {
        if (Status status = read_password_file(password_file, &endpoint.password); !status.ok()) {
            return status;
        }
    } else if (!password.empty()) {
        endpoint.password = password;
    }
    if (!username.empty()) endpoint.username = username;
    if (!endpoint.username.empty() && endpoint.password.empty()) {
        return invalid("a Redis username needs a password (password or password_file)");
    }
    if (has_tls) {
        if (!tls && endpoint.tls) return invalid("option \"tls\": false contradicts the rediss:// URL");
        endpoint.tls = tls;
    }
    if (endpoint.tls && !endpoint.unix_path.empty()) {
        return invalid("TLS (rediss:// or tls: true) needs a host and port, not unix://");
    }
    if (!endpoint.tls && any_tls_option) {
        return invalid("the tls_* options need TLS: a rediss:// URL or the option tls: true");
    }
    if (options.tls.cert_file.empty() != options.tls.key_file.empty()) {
        return invalid("mutual TLS needs both \"tls_cert_file\" and \"tls_key_file\"");
    }
    if (options.tls.skip_verify && (!options.tls.ca_file.empty() || !options.tls.ca_dir.empty())) {
        return invalid("\"tls_skip_verify\": true ignores \"tls_ca_file\" and \"tls_ca_dir\"; give one or "
                       "the other");
    }
    if (endpoint.tls) {
        if (Status status = TlsClient::create(options.tls, &endpoint.tls_client); !status.ok()) return status;
    }
    // WAIT blocks up to its timeout: the connection must not give up first.
    if (wait_replicas > 0 && wait_timeout_ms >= command_ms) {
        return invalid("\"wait_timeout_ms\" (" + std::to_string(wait_timeout_ms) +
                       ") must be less than \"command_timeout_ms\" (" + std::to_string(command_ms) +
                       "), which bounds every command including WAIT");
    }
    options.wait_replicas = static_cast<uint32_t>(wait_replicas);
    options.wait_timeout_ms = static_cast<uint32_t>(wait_timeout_ms);
    options.wait_required = wait_on_timeout == "fail";
    options.connect_timeout_ms = static_cast<uint32_t>(connect_ms);
    options.command_timeout_ms = static_cast<uint32_t>(command_ms);
    *out = std::move(options);
    return Status::success();
}

}  // namespace tokend::redis_store
