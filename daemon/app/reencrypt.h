// The online re-encryption (protocol op `reencrypt`, `tokenctl reencrypt`):
// walks every stored user context, then every pending flow, a page at a time
// on the executor while tokend serves, and rewrites each record that is not
// yet as the key ring writes it (sealed under the active key; in plain text
// when no key is active: the downgrade). Each rewrite is a compare-and-put
// against the raw bytes just read, so a refresh or a bot's write landing
// meanwhile is never overwritten: the record is read and decided again.
//
// A page's records are decided and written by up to kWriters threads at once
// (one when the plugin is not thread-safe), each record still its own
// compare-and-put: a store that coalesces concurrent writes (the yaml store's
// group commit rewrites its file once for every writer waiting) then writes
// many records per file rewrite instead of one.
//
// Resumable: records already under the active key are recognised by their
// prefix and not rewritten (only checked), so a run that was killed is
// finished by running it again. Records that cannot be opened (a key no longer in the
// ring, tampered or truncated data) are counted and named, left as they are.
// Loop thread only.
#pragma once

#include "app/op_result.h"
#include "app/service_runtime.h"
#include "core/sealed_record.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tokend {

struct ReencryptCounts {
    uint64_t examined = 0;
    uint64_t rewritten = 0;
    uint64_t current = 0;     // already as the ring writes them
    uint64_t unreadable = 0;  // left as they are
    uint64_t gone = 0;        // deleted between the listing and the write
    uint64_t busy = 0;        // changed under every try: left for the next run
};

struct UnreadableRecord {
    std::string ns;   // "user" or "flow"
    std::string key;  // the user id, or the flow's log id
    std::string key_id;
    std::string reason;
};

struct ReencryptReport {
    bool running = false;
    bool finished = false;     // ran to the end (not stopped by a store error or a drain)
    std::string active_key;    // empty: written in plain text
    ReencryptCounts contexts;
    ReencryptCounts flows;
    std::vector<UnreadableRecord> unreadable;  // the first kMaxNamedUnreadable
    std::string error;         // why it stopped, when it did
    double seconds = 0;
};

class Reencryptor {
public:
    static constexpr size_t kMaxNamedUnreadable = 1000;
    // Threads writing a page at once, the store visit's own included: each
    // may hold a store connection (the daemon's descriptor budget counts them).
    static constexpr size_t kWriters = 32;

    explicit Reencryptor(ServiceRuntime& runtime) : runtime_(runtime) {}

    // Starts a run (or joins the one running); done gets its final report.
    void run(OpCallback<ReencryptReport> done);
    // The running one's progress, or the last report.
    const ReencryptReport& progress() const { return report_; }

private:
    void next_page();
    void finish(std::string error);

    ServiceRuntime& runtime_;
    ReencryptReport report_;
    std::vector<OpCallback<ReencryptReport>> waiting_;
    Ns ns_ = Ns::user;
    std::string cursor_;
    uint64_t logged_at_ = 0;
    std::chrono::steady_clock::time_point began_;
};

}  // namespace tokend
