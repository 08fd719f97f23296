#include "core/tokens.h"

#include "core/json_limits.h"

#include <cmath>

namespace tokend {
namespace {

constexpr const char* kKnownFields[] = {"access_token", "expires_at", "refresh_token",
                                        "refresh_token_expires_at", "token_type", "scope"};

bool is_known(const std::string& key) {
    for (const char* field : kKnownFields) {
        if (key == field) return true;
    }
    return false;
}

// Reads an optional string field; false (with *error set) on a wrong type.
bool read_string(const Json& json, const char* field, std::optional<std::string>* out,
                 std::string* error) {
    auto it = json.find(field);
    if (it == json.end() || it->is_null()) return true;
    if (!it->is_string()) {
        *error = std::string("'") + field + "' must be a string or null";
        return false;
    }
    *out = it->get<std::string>();
    return true;
}

bool read_secret(const Json& json, const char* field, std::optional<Secret>* out,
                 std::string* error) {
    std::optional<std::string> text;
    if (!read_string(json, field, &text, error)) return false;
    if (text) *out = Secret(std::move(*text));
    return true;
}

bool read_time(const Json& json, const char* field, std::optional<Timestamp>* out,
               std::string* error) {
    std::optional<std::string> text;
    if (!read_string(json, field, &text, error)) return false;
    if (!text) return true;
    auto parsed = parse_iso8601(*text);
    if (!parsed) {
        *error = std::string("'") + field + "' is not an ISO 8601 datetime";
        return false;
    }
    *out = *parsed;
    return true;
}

// A lifetime in seconds from a token answer: a non-negative whole number (some
// providers send it as a string).
bool read_lifetime(const Json& json, const char* field, std::optional<std::chrono::seconds>* out,
                   std::string* error) {
    auto it = json.find(field);
    if (it == json.end() || it->is_null()) return true;
    long long value = -1;
    if (it->is_number_integer()) {
        value = it->get<long long>();
    } else if (it->is_number_float()) {
        const double d = it->get<double>();
        if (std::isfinite(d) && d >= 0 && d < 1e12 && d == std::floor(d)) value = static_cast<long long>(d);
    } else if (it->is_string()) {
        const std::string& s = it->get_ref<const std::string&>();
        if (!s.empty() && s.size() < 13 && s.find_first_not_of("0123456789") == std::string::npos) {
            value = std::stoll(s);
        }
    }
    if (value < 0 || value > 100LL * 365 * 24 * 3600) {
        *error = std::string("'") + field + "' must be a non-negative number of seconds";
        return false;
    }
    *out = std::chrono::seconds{value};
    return true;
}

Json secret_or_null(const std::optional<Secret>& secret) {
    return secret ? Json(secret->reveal()) : Json(nullptr);
}

Json time_or_null(const std::optional<Timestamp>& at) {
    return at ? Json(format_iso8601(*at)) : Json(nullptr);
}

Json string_or_null(const std::optional<std::string>& text) {
    return text ? Json(*text) : Json(nullptr);
}

}  // namespace

std::chrono::seconds Tokens::remaining(Timestamp now) const {
    if (!access_token || !expires_at) return std::chrono::seconds{0};
    return std::chrono::duration_cast<std::chrono::seconds>(*expires_at - now);
}

Result<Tokens> tokens_from_json(const Json& json) {
    if (!json.is_object()) return Result<Tokens>::failure("tokens must be a JSON object");
    Tokens tokens;
    std::string error;
    if (!read_secret(json, "access_token", &tokens.access_token, &error) ||
        !read_time(json, "expires_at", &tokens.expires_at, &error) ||
        !read_secret(json, "refresh_token", &tokens.refresh_token, &error) ||
        !read_time(json, "refresh_token_expires_at", &tokens.refresh_token_expires_at, &error) ||
        !read_string(json, "token_type", &tokens.token_type, &error) ||
        !read_string(json, "scope", &tokens.scope, &error)) {
        return Result<Tokens>::failure("tokens: " + error);
    }
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (!is_known(it.key())) tokens.extra[it.key()] = it.value();
    }
    return tokens;
}

Json to_json(const Tokens& tokens) {
    Json json = Json::object();
    json["access_token"] = secret_or_null(tokens.access_token);
    json["expires_at"] = time_or_null(tokens.expires_at);
    json["refresh_token"] = secret_or_null(tokens.refresh_token);
    json["refresh_token_expires_at"] = time_or_null(tokens.refresh_token_expires_at);
    json["token_type"] = string_or_null(tokens.token_type);
    json["scope"] = string_or_null(tokens.scope);
    for (auto it = tokens.extra.begin(); it != tokens.extra.end(); ++it) {
        json[it.key()] = it.value();
    }
    return json;
}

Result<Tokens> tokens_from_token_response(const Json& json, Timestamp now) {
    if (!json.is_object()) return Result<Tokens>::failure("token answer is not a JSON object");
    Tokens tokens;
    std::string error;
    std::optional<std::chrono::seconds> expires_in, refresh_expires_in;
    if (!read_secret(json, "access_token", &tokens.access_token, &error) ||
        !read_secret(json, "refresh_token", &tokens.refresh_token, &error) ||
        !read_string(json, "token_type", &tokens.token_type, &error) ||
        !read_string(json, "scope", &tokens.scope, &error) ||
        !read_lifetime(json, "expires_in", &expires_in, &error) ||
        !read_lifetime(json, "refresh_token_expires_in", &refresh_expires_in, &error)) {
        return Result<Tokens>::failure("token answer: " + error);
    }
    if (!tokens.access_token || tokens.access_token->empty()) {
        return Result<Tokens>::failure("token answer has no access_token");
    }
    if (expires_in) tokens.expires_at = now + *expires_in;
    if (refresh_expires_in && tokens.refresh_token) {
        tokens.refresh_token_expires_at = now + *refresh_expires_in;
    }
    return tokens;
}

Tokens merge_refreshed(const Tokens& current, const Tokens& fresh) {
    Tokens merged = fresh;
    if (!fresh.refresh_token) {
        merged.refresh_token = current.refresh_token;
        merged.refresh_token_expires_at = current.refresh_token_expires_at;
    }
    if (!fresh.scope) merged.scope = current.scope;
    if (!fresh.token_type) merged.token_type = current.token_type;
    merged.extra = current.extra;
    return merged;
}

std::string oauth_error_of(std::string_view body) {
    const Json json = parse_bounded_json(body);
    if (!json.is_object() || !json.contains("error") || !json["error"].is_string()) return "";
    const std::string code = json["error"].get<std::string>();
    if (code.empty() || code.size() > 64) return "";
    for (char c : code) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) return "";
    }
    return code;
}

}  // namespace tokend
