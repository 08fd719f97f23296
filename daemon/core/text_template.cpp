#include "core/text_template.h"

namespace tokend {

std::string fill_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
    for (const auto& [name, value] : values) {
        const std::string placeholder = "{" + name + "}";
        for (size_t at = text.find(placeholder); at != std::string::npos;
             at = text.find(placeholder, at + value.size())) {
            text.replace(at, placeholder.size(), value);
        }
    }
    return text;
}

std::string escape_markdown(std::string_view value) {
    // Inline syntax (emphasis, code, links, images, HTML, tables, strikethrough,
    // entities, headings) and ':' against bare-URL autolinks; '-', '+' and '='
    // only start a list or an underline, so they are escaped first in a value only.
    static constexpr std::string_view kSpecial = "\\`*_{}[]()<>#!|~&:";
    static constexpr std::string_view kSpecialFirst = "-+=";
    std::string escaped;
    escaped.reserve(value.size());
    for (size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            escaped += ' ';
            continue;
        }
        if (kSpecial.find(c) != std::string_view::npos || (i == 0 && kSpecialFirst.find(c) != std::string_view::npos)) {
            escaped += '\\';
        }
        escaped += c;
    }
    return escaped;
}

}  // namespace tokend
