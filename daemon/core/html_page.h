// The small HTML pages the browser gets at the end of a flow. Everything that
// goes in is escaped; pages carry headers that keep them out of caches and
// stop the URL (which held the code) from leaking through Referer.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend {

struct HtmlPage {
    int status = 200;
    std::string title;    // plain text
    std::string message;  // plain text
};

std::string html_escape(std::string_view text);

// The complete document.
std::string render_html(const HtmlPage& page);

// Headers every page is served with.
std::vector<std::pair<std::string, std::string>> html_page_headers();

}  // namespace tokend
