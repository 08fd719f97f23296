// The redis store's list cursor: the SSCAN cursor to continue from and the keys
// of the last SSCAN batch that did not fit in the page. Shared by list and
// list_entries; the host sees it as opaque bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tokend::redis_store {

struct ListCursor {
    std::string scan = "0";
    bool started = false;  // an SSCAN ran: scan "0" then means the set was walked through
    std::vector<std::string> pending;

    // Nothing pending and the set walked through: no next page.
    bool complete() const { return pending.empty() && started && scan == "0"; }
    // Puts keys[from..] back in front of pending (the host took no more), so the
    // next page starts right after the last key given; keys keeps the rest.
    void give_back(std::vector<std::string>& keys, size_t from);

    // "s{scan}:" then "{length}:{key}" per pending key.
    std::string encode() const;
    // False for text that is not a cursor of this store.
    static bool decode(std::string_view text, ListCursor* out);
};

}  // namespace tokend::redis_store
