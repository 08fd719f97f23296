#include "io/http_message.h"

#include <array>
#include <cstdint>
#include <cstdio>

namespace tokend {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Headers the server writes itself from its own framing decisions.
bool is_framing_header(std::string_view name) {
    return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

// Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count
// since 1970-01-01, without the C library's locale or time zone.
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

void append_two_digits(std::string& out, unsigned value) {
    out.push_back(static_cast<char>('0' + value / 10 % 10));
    out.push_back(static_cast<char>('0' + value % 10));
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
        if (iequals(field, name)) return &value;
    }
    return nullptr;
}

std::string_view http_reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Payload Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 422: return "Unprocessable Entity";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: break;
    }
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    return "Server Error";
}

std::string http_date(std::time_t seconds_since_epoch) {
    static constexpr std::array<std::string_view, 7> kWeekdays{"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto seconds = static_cast<int64_t>(seconds_since_epoch);
    int64_t days = seconds / 86400;
    int64_t in_day = seconds % 86400;
    if (in_day < 0) {
        in_day += 86400;
        days -= 1;
    }
    int64_t year = 0;
    unsigned month = 1;
    unsigned day = 1;
    civil_from_days(days, year, month, day);
    const int64_t weekday = ((days % 7) + 7) % 7;  // 1970-01-01 was a Thursday

    std::string out;
    out.reserve(29);
    out.append(kWeekdays[static_cast<size_t>(weekday)]);
    out.append(", ");
    append_two_digits(out, day);
    out.push_back(' ');
    out.append(kMonths[month - 1]);
    out.push_back(' ');
    out.append(std::to_string(year));
    out.push_back(' ');
    append_two_digits(out, static_cast<unsigned>(in_day / 3600));
    out.push_back(':');
    append_two_digits(out, static_cast<unsigned>(in_day / 60 % 60));
    out.push_back(':');
    append_two_digits(out, static_cast<unsigned>(in_day % 60));
    out.append(" GMT");
    return out;
}

bool is_http_token(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
        if (alnum) continue;
        switch (c) {
            case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
            case '-': case '.': case '^': case '_': case '`': case '|': case '~':
                continue;
            default:
                return false;
        }
    }
    return true;
}

bool is_safe_header_value(std::string_view value) {
    for (char c : value) {
        if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

bool header_lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        const std::string_view item = trim_ows(value.substr(0, comma));
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

Result<std::shared_ptr<const PreparedResponse>> prepare_response(HttpResponse response) {
    using Prepared = Result<std::shared_ptr<const PreparedResponse>>;
    if (response.prepared) return Prepared(std::move(response.prepared));
    if (response.status < 200 || response.status > 599) {
        return Prepared::failure("status " + std::to_string(response.status) + " is not a final status");
    }
    auto prepared = std::make_shared<PreparedResponse>();
    size_t header_bytes = 0;
    for (const auto& [name, value] : response.headers) {
        if (!is_http_token(name)) return Prepared::failure("header name is not a token");
        if (!is_safe_header_value(value)) return Prepared::failure("header " + name + " holds CR, LF or NUL");
        if (iequals(name, "Date")) prepared->has_date = true;
        header_bytes += name.size() + value.size() + 4;
    }
    prepared->requests_close = response_requests_close(response);
    prepared->status = response.status;
    std::string& out = prepared->head;
    out.reserve(32 + header_bytes);
    out.append("HTTP/1.1 ");
    out.append(std::to_string(response.status));
    out.push_back(' ');
    out.append(http_reason_phrase(response.status));
    out.append("\r\n");
    for (const auto& [name, value] : response.headers) {
        if (is_framing_header(name)) continue;
        out.append(name);
        out.append(": ");
        out.append(value);
        out.append("\r\n");
    }
    prepared->body = std::move(response.body);
    return Prepared(std::shared_ptr<const PreparedResponse>(std::move(prepared)));
}

namespace {

// A prepared response with the framing of this one answer.
std::string frame_response(const PreparedResponse& prepared, const ResponseFraming& framing) {
    const bool bodiless_status = prepared.status == 204 || prepared.status == 304;
    const bool send_body = !bodiless_status && !framing.head_request;
    std::string out;
    out.reserve(prepared.head.size() + 96 + framing.date.size() + (send_body ? prepared.body.size() : 0));
    out.append(prepared.head);
    if (!prepared.has_date && !framing.date.empty()) {
        out.append("Date: ");
        out.append(framing.date);
        out.append("\r\n");
    }
    if (!bodiless_status) {
        char length[24];
        const int n = std::snprintf(length, sizeof length, "%zu", prepared.body.size());
        out.append("Content-Length: ");
        out.append(length, static_cast<size_t>(n));
        out.append("\r\n");
    }
    if (!framing.keep_alive) {
        out.append("Connection: close\r\n");
    } else if (framing.http10_client) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
    if (send_body) out.append(prepared.body);
    return out;
}

}  // namespace

Result<std::string> serialize_response(const HttpResponse& response, const ResponseFraming& framing) {
    if (response.prepared) return Result<std::string>(frame_response(*response.prepared, framing));
    auto prepared = prepare_response(response);
    if (!prepared) return Result<std::string>::failure(prepared.error());
    return Result<std::string>(frame_response(**prepared, framing));
}

bool response_requests_close(const HttpResponse& response) {
    if (response.prepared) return response.prepared->requests_close;
    for (const auto& [name, value] : response.headers) {
        if (iequals(name, "Connection") && header_lists_token(value, "close")) return true;
    }
    return false;
}

HttpResponse http_error_response(int status) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response.body = std::to_string(status);
    response.body.push_back(' ');
    response.body.append(http_reason_phrase(status));
    response.body.push_back('\n');
    return response;
}

}  // namespace tokend
