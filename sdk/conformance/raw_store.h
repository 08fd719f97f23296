// A store instance driven straight through the C table with a host API of our
// own that records every reply. tokend::Store is lenient on purpose (it drops
// keys beyond the page limit, for instance); a conformance check must see what
// the plugin really did, so these tests use RawStore.
//
// RawStore keeps the threading contract itself: calls are serialized unless the
// plugin declares TOKEND_STORE_CAP_THREAD_SAFE.
#pragma once

#include "host/store_plugin.h"
#include "host/store_status.h"

#include <tokend/store.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::conformance {

// Everything the plugin handed to the host during one call.
struct RawReply {
    std::vector<std::string> values;  // one entry per reply_value call
    std::vector<std::string> keys;    // one entry per reply_key or reply_entry call
    std::vector<std::string> entry_values;  // one per reply_entry call, beside its key in keys
    int cursor_calls = 0;
    std::string cursor;  // the last cursor given
    std::string error;   // the last reply_error message
    std::vector<std::string> problems;  // "option: message", one per reply_problem call
    // reply_key/reply_entry answer "no more" once this many keys were given in this call.
    uint32_t stop_after = std::numeric_limits<uint32_t>::max();
    int keys_after_stop = 0;  // reply_key/reply_entry calls after the host said "no more"
};

struct RawResult {
    tokend_status status = TOKEND_INTERNAL;
    RawReply reply;
};

class RawStore {
public:
    using LogFn = std::function<void(tokend_log_level, std::string_view)>;

    // Opens an instance. On failure *out stays empty and the result says why;
    // out_left_null tells whether the plugin left its out pointer NULL (required
    // on failure; a leaked instance otherwise).
    static RawResult open(std::shared_ptr<StorePlugin> plugin, std::string_view config,
                          LogFn log, std::unique_ptr<RawStore>* out,
                          bool* out_left_null = nullptr);
    ~RawStore();
    RawStore(const RawStore&) = delete;
    RawStore& operator=(const RawStore&) = delete;

    RawResult get(Ns ns, std::string_view key);
    RawResult put(Ns ns, std::string_view key, std::string_view value);
    RawResult del(Ns ns, std::string_view key);
    RawResult take(Ns ns, std::string_view key);
    // One page; stop_after makes the host's reply_key ask to stop early.
    RawResult list(Ns ns, std::string_view cursor, uint32_t limit,
                   uint32_t stop_after = std::numeric_limits<uint32_t>::max());
    // The 1.1 list_entries slot, when the plugin provides it (can_list_entries()).
    bool can_list_entries() const { return plugin_->list_entries() != nullptr; }
    RawResult list_entries(Ns ns, std::string_view cursor, uint32_t limit,
                           uint32_t stop_after = std::numeric_limits<uint32_t>::max());

    // The 1.2 put_if_equal slot, when the plugin provides it (can_put_if_equal()).
    // fencing_token NULL: no lease check.
    bool can_put_if_equal() const { return plugin_->put_if_equal() != nullptr; }
    RawResult put_if_equal(Ns ns, std::string_view key, std::string_view expected, std::string_view value,
                           const uint64_t* fencing_token = nullptr);

private:
    RawStore(std::shared_ptr<StorePlugin> plugin, LogFn log);
    template <typename Call>
    RawResult call(uint32_t stop_after, Call&& fn);

    std::shared_ptr<StorePlugin> plugin_;
    const tokend_store_plugin& table_;
    std::unique_ptr<LogFn> log_;  // host_ctx: stays at one address for the instance's life
    tokend_store* instance_ = nullptr;
    std::mutex serial_;
};

}  // namespace tokend::conformance
