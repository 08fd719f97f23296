// The export op's snapshot of every user context, handed out a page at a time.
// The contexts are copied at one moment (one loop turn) and kept as compact
// JSON; each page holds as many as fit a byte budget (at least one), so 100,000
// users never make one response line of tens of megabytes (a client's line
// limit, the server's 4 MiB of unsent responses). Pure: the control handler
// keeps one snapshot per connection and drops it after the last page.
#pragma once

#include "core/iso_time.h"
#include "core/user_context.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// A page's JSON stays below this (unless one context alone is larger).
constexpr size_t kExportPageBytes = 1024 * 1024;

class ContextSnapshot {
public:
    // contexts: sorted by user id. refresh_tokens false: each tokens.refresh_token
    // is null in the snapshot (its expiry stays), as get_user_context shows it
    // to a caller outside control.refresh_token_readers.
    ContextSnapshot(uint64_t serial, Timestamp taken_at, bool refresh_tokens, const std::vector<UserContext>& contexts);

    struct Page {
        Json user_contexts;               // an array
        std::optional<std::string> next;  // the cursor of the next page; none after the last
    };
    // The page that starts at `offset` (0: the first).
    Page page(size_t offset, size_t budget = kExportPageBytes) const;
    // The offset a cursor of this snapshot names; nullopt for anything else
    // (another snapshot's cursor, a made-up one, one past the end).
    std::optional<size_t> offset_of(std::string_view cursor) const;

    size_t size() const { return texts_.size(); }
    uint64_t serial() const { return serial_; }
    Timestamp taken_at() const { return taken_at_; }
    bool refresh_tokens() const { return refresh_tokens_; }

private:
    std::string cursor_at(size_t offset) const;

    uint64_t serial_;
    Timestamp taken_at_;
    bool refresh_tokens_;
    std::vector<std::string> texts_;  // compact JSON, one per context
};

}  // namespace tokend
