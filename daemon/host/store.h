// One open store instance behind the C ABI, with C++ types and the threading
// contract enforced: calls are serialized here unless the plugin is thread-safe.
// Every method blocks (disk, network): never call them on the event-loop thread,
// except absent_now, which never blocks.
#pragma once

#include "host/store_plugin.h"
#include "host/store_status.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

// Receives the plugin's log lines (level as in tokend_log_level).
using StoreLogSink = std::function<void(tokend_log_level level, std::string_view message)>;

// Receives change notifications, from any thread.
using StoreChangeSink = std::function<void(Ns ns, StoreChange change, std::string_view key)>;

// Sees each plugin call's operation name ("get", "put", ...), duration and
// status, on whichever thread made the call (metrics).
using StoreCallObserver =
    std::function<void(std::string_view operation, std::chrono::steady_clock::duration took, const StoreStatus& status)>;

struct StorePage {
    std::vector<std::string> keys;
    std::string next_cursor;  // empty: the listing is complete
};

struct StoreEntry {
    std::string key;
    std::string value;
};

struct StoreEntryPage {
    std::vector<StoreEntry> entries;
    std::string next_cursor;  // empty: the listing is complete
};

// Sees one key and its value; returns false to stop.
using StoreEntryVisitor = std::function<bool(std::string_view key, std::string_view value)>;

// One problem a plugin found in its options (store ABI 1.3, validate_options).
struct OptionProblem {
    std::string option;   // the top-level option it concerns; empty: none or several
    std::string message;  // what is wrong, for the operator
};

class Store {
public:
    // Has the plugin check its options without opening the store (the 1.3
    // validate_options slot). ok: no problem; invalid: *problems lists them
    // (at least one); any other code: the check could not run. Ask
    // plugin.validate_options() first: a plugin from before 1.3 (or one that
    // leaves the slot NULL) cannot check, and this answers internal for it.
    static StoreStatus validate_options(const StorePlugin& plugin, std::string_view config_json, StoreLogSink log,
                                        std::vector<OptionProblem>* problems);

    // Opens an instance with the plugin's options as a JSON object text. On failure
    // returns the plugin's status and leaves *out empty.
    static StoreStatus open(std::shared_ptr<StorePlugin> plugin, std::string_view config_json,
                            StoreLogSink log, std::unique_ptr<Store>* out);
    ~Store();  // closes the instance
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const StorePlugin& plugin() const { return *plugin_; }
    bool can_lock() const { return plugin_->has(TOKEND_STORE_CAP_LOCK); }
    bool can_notify() const { return plugin_->has(TOKEND_STORE_CAP_NOTIFY); }
    bool is_shared() const { return plugin_->has(TOKEND_STORE_CAP_SHARED); }
    // The plugin lists keys with their values (store ABI 1.1).
    bool can_list_entries() const { return list_entries_ != nullptr; }
    // The plugin compares and writes in one atomic step (store ABI 1.2).
    bool compares_atomically() const { return put_if_equal_ != nullptr; }
    // The plugin can say at once that a key is absent (store ABI 1.4).
    bool answers_absence_inline() const { return absent_now_ != nullptr; }

    StoreStatus get(Ns ns, std::string_view key, std::string* value);
    StoreStatus put(Ns ns, std::string_view key, std::string_view value);
    StoreStatus del(Ns ns, std::string_view key);
    StoreStatus take(Ns ns, std::string_view key, std::string* value);
    // True only when the plugin says at once that a take of key would find
    // nothing now (the 1.4 absent_now slot); false when it is there, when the
    // plugin cannot tell without blocking or lacks the slot. Never blocks and
    // takes no lock of ours: callable on the event-loop thread, beside any call.
    bool absent_now(Ns ns, std::string_view key) const;
    // One page of at most limit keys after cursor ("" for the first page).
    StoreStatus list(Ns ns, std::string_view cursor, uint32_t limit, StorePage* page);
    // Every key, page by page; visit returns false to stop early.
    StoreStatus for_each_key(Ns ns, const std::function<bool(std::string_view key)>& visit,
                             uint32_t page_size = 1000);
    // One page of at most limit entries after cursor; invalid without can_list_entries().
    StoreStatus list_entries(Ns ns, std::string_view cursor, uint32_t limit, StoreEntryPage* page);
    // Every key with its value: a page of entries per plugin call when the plugin
    // can list entries, else a page of keys and a get for each. A key deleted
    // between its listing and its read is left out. An empty key (only a
    // hand-edited store holds one, and get cannot ask for it) comes with an empty
    // value. An error names the call, and the key for a failed get. visit runs
    // between plugin calls, never inside one (nor under the serialization
    // lock): it may call the store, and for_each_entry_read_ahead relies on it.
    StoreStatus for_each_entry(Ns ns, const StoreEntryVisitor& visit, uint32_t page_size = 1000);

    // Lock capability; invalid when the plugin lacks it.
    StoreStatus lock_acquire(Ns ns, std::string_view key, std::chrono::milliseconds ttl,
                             uint64_t* fencing_token);
    StoreStatus lock_release(Ns ns, std::string_view key, uint64_t fencing_token);
    StoreStatus put_fenced(Ns ns, std::string_view key, std::string_view value,
                           uint64_t fencing_token);

    // Writes value only if key holds exactly `expected` and, with a fencing
    // token (lock capability), only while that token holds the lease on key.
    //   ok: written.  not_found: the key is absent; nothing written.
    //   conflict: nothing written; *changed is true when the key holds other
    //   bytes (given in *current), false when the fence lost the lease.
    //   *current is empty unless *changed; expected may point into it.
    // One atomic step when the plugin provides put_if_equal (compares_atomically()),
    // else a get, the comparison and a put or put_fenced: a plain write by
    // another writer may then land between the comparison and the write.
    StoreStatus put_if_equal(Ns ns, std::string_view key, std::string_view expected, std::string_view value,
                             std::optional<uint64_t> fencing_token, std::string* current, bool* changed);

    // Notify capability; invalid when the plugin lacks it or it was already called.
    StoreStatus subscribe(StoreChangeSink sink);

    // Set once, before the store is used from other threads (not synchronized).
    void set_call_observer(StoreCallObserver observer) { observer_ = std::move(observer); }

private:
    Store(std::shared_ptr<StorePlugin> plugin, StoreLogSink log);

    // Runs one plugin call under the serialization the plugin asked for, and
    // shows it to the observer (the wait for serialization included).
    template <typename Call>
    StoreStatus call(std::string_view operation, Call&& fn);
    // Pages through cursors until one is empty; fetch fills the next page and
    // returns how many items it held (0 with an unchanged cursor would loop).
    StoreStatus walk_pages(std::string_view operation,
                           const std::function<StoreStatus(const std::string& cursor, std::string* next,
                                                           size_t* items, bool* stop)>& fetch);
    StoreStatus for_each_entry_by_get(Ns ns, const StoreEntryVisitor& visit, uint32_t page_size);

    std::shared_ptr<StorePlugin> plugin_;
    const tokend_store_plugin& table_;
    const decltype(tokend_store_plugin::list_entries) list_entries_;
    const decltype(tokend_store_plugin::put_if_equal) put_if_equal_;
    const decltype(tokend_store_plugin::absent_now) absent_now_;
    tokend_store* instance_ = nullptr;
    bool thread_safe_ = false;
    std::mutex serial_;  // held around each call when the plugin is not thread-safe
    StoreLogSink log_;
    StoreChangeSink change_sink_;
    bool subscribed_ = false;
    StoreCallObserver observer_;
};

}  // namespace tokend
