#include "core/url_encoding.h"

#include "core/byte_encoding.h"

#include <algorithm>

namespace tokend {
namespace {

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string form_encode(std::string_view text) {
    static const char* const kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        if (unreserved(c)) {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string form_encode(const FormFields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out += '&';
        out += form_encode(name);
        out += '=';
        out += form_encode(value);
    }
    return out;
}

Result<std::string> form_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            const int high = i + 1 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) return Result<std::string>::failure("bad percent escape");
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

Result<FormFields> parse_query(std::string_view query, const std::vector<std::string_view>& unique) {
    FormFields fields;
    size_t start = 0;
    while (start <= query.size()) {
        size_t end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view pair = query.substr(start, end - start);
        if (!pair.empty()) {
            const size_t eq = pair.find('=');
            auto name = form_decode(pair.substr(0, eq));
            auto value = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
            if (!name || !value) return Result<FormFields>::failure("malformed query string");
            const bool must_be_unique =
                std::find(unique.begin(), unique.end(), std::string_view(*name)) != unique.end();
            if (must_be_unique && find_field(fields, *name) != nullptr) {
                return Result<FormFields>::failure("parameter '" + *name + "' given more than once");
            }
            fields.emplace_back(std::move(name).value(), std::move(value).value());
        }
        start = end + 1;
    }
    return fields;
}

const std::string* find_field(const FormFields& fields, std::string_view name) {
    for (const auto& [field, value] : fields) {
        if (field == name) return &value;
    }
    return nullptr;
}

}  // namespace tokend
