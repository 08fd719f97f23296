#include "core/html_page.h"

namespace tokend {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string render_html(const HtmlPage& page) {
    const std::string title = html_escape(page.title);
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
           title +
           "</title>\n<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;"
           "padding:0 1em;line-height:1.5;color:#222}h1{font-size:1.4em}</style>\n</head>\n<body>\n<h1>" +
           title + "</h1>\n<p>" + html_escape(page.message) + "</p>\n</body>\n</html>\n";
}

std::vector<std::pair<std::string, std::string>> html_page_headers() {
    return {{"Content-Type", "text/html; charset=utf-8"},
            {"Cache-Control", "no-store"},
            {"Pragma", "no-cache"},
            {"Referrer-Policy", "no-referrer"},
            {"X-Content-Type-Options", "nosniff"},
            {"X-Frame-Options", "DENY"},
            {"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}};
}

}  // namespace tokend
