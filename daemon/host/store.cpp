#include "host/store.h"

#include <exception>
#include <new>

namespace tokend {
namespace {

// What one call collects through the host API; this is the tokend_reply the plugin sees.
struct ReplyBuffer {
    std::string* value = nullptr;  // get/take destination
    bool value_set = false;
    std::vector<std::string>* keys = nullptr;  // list destination
    std::vector<StoreEntry>* entries = nullptr;  // list_entries destination
    size_t entries_used = 0;  // entries given so far; the ones after are the last page's, reused
    bool out_of_memory = false;  // the host could not take an entry: the page is not whole
    uint32_t key_limit = 0;   // for keys or entries
    std::string* cursor = nullptr;
    std::vector<OptionProblem>* problems = nullptr;  // validate_options destination
    std::string error;
};

ReplyBuffer* as_buffer(tokend_reply* reply) { return reinterpret_cast<ReplyBuffer*>(reply); }

void host_reply_value(tokend_reply* reply, const void* value, size_t len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || buffer->value == nullptr) return;
    buffer->value->assign(static_cast<const char*>(value), len);
    buffer->value_set = true;
}

int host_reply_key(tokend_reply* reply, const void* key, size_t len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || buffer->keys == nullptr) return 1;
    if (buffer->keys->size() >= buffer->key_limit) return 1;  // a plugin that ignores limit
    buffer->keys->emplace_back(static_cast<const char*>(key), len);
    return buffer->keys->size() >= buffer->key_limit ? 1 : 0;
}

int host_reply_entry(tokend_reply* reply, const void* key, size_t key_len, const void* value,
                     size_t value_len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || buffer->entries == nullptr) return 1;  // not inside list_entries
    if (buffer->entries_used >= buffer->key_limit) return 1;
    std::vector<StoreEntry>& entries = *buffer->entries;
    try {
        if (buffer->entries_used == entries.size()) entries.emplace_back();
        // Assigned into the last page's strings: a walk allocates again only
        // for a page longer than the one before.
        StoreEntry& entry = entries[buffer->entries_used];
        entry.key.assign(static_cast<const char*>(key), key_len);
        entry.value.assign(static_cast<const char*>(value), value_len);
    } catch (const std::bad_alloc&) {
        buffer->out_of_memory = true;  // never unwind into the plugin; the call fails
        return 1;
    }
    ++buffer->entries_used;
    return buffer->entries_used >= buffer->key_limit ? 1 : 0;
}

void host_reply_cursor(tokend_reply* reply, const void* cursor, size_t len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || buffer->cursor == nullptr) return;
    buffer->cursor->assign(static_cast<const char*>(cursor), len);
}

void host_reply_error(tokend_reply* reply, const char* message, size_t len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || message == nullptr) return;
    buffer->error.assign(message, len);
}

void host_reply_problem(tokend_reply* reply, const char* option, size_t option_len, const char* message,
                        size_t message_len) {
    ReplyBuffer* buffer = as_buffer(reply);
    if (buffer == nullptr || buffer->problems == nullptr) return;  // not inside validate_options
    OptionProblem problem;
    if (option != nullptr) problem.option.assign(option, option_len);
    if (message != nullptr) problem.message.assign(message, message_len);
    buffer->problems->push_back(std::move(problem));
}

void host_log(void* host_ctx, tokend_log_level level, const char* message, size_t len) {
    auto* sink = static_cast<StoreLogSink*>(host_ctx);
    if (sink == nullptr || !*sink || message == nullptr) return;
    try {
        (*sink)(level, std::string_view(message, len));
    } catch (...) {
        // Logging must never unwind into plugin code.
    }
}

const tokend_host_api kHostApi = {
    sizeof(tokend_host_api), TOKEND_STORE_ABI_VERSION, host_reply_value, host_reply_key,
    host_reply_cursor,       host_reply_error,         host_log,         host_reply_entry,
    host_reply_problem,
};

StoreCode to_code(tokend_status status) {
    switch (status) {
        case TOKEND_OK: return StoreCode::ok;
        case TOKEND_NOT_FOUND: return StoreCode::not_found;
        case TOKEND_UNAVAILABLE: return StoreCode::unavailable;
        case TOKEND_CONFLICT: return StoreCode::conflict;
        case TOKEND_INVALID: return StoreCode::invalid;
        case TOKEND_CORRUPT: return StoreCode::corrupt;
        case TOKEND_INTERNAL: return StoreCode::internal;
    }
    return StoreCode::internal;  // a status this host does not know
}

StoreStatus finish(tokend_status status, ReplyBuffer& buffer) {
    StoreStatus result{to_code(status), std::move(buffer.error)};
    if (result.code == StoreCode::internal && static_cast<int>(status) > TOKEND_INTERNAL &&
        result.message.empty()) {
        result.message = "plugin returned unknown status " + std::to_string(static_cast<int>(status));
    }
    return result;
}

tokend_namespace to_c(Ns ns) { return ns == Ns::user ? TOKEND_NS_USER : TOKEND_NS_FLOW; }

// store.h promises plugins that keys are never empty.
StoreStatus empty_key() { return StoreStatus::error(StoreCode::invalid, "empty key"); }

// The change callback's context: the sink lives in the Store, which outlives the subscription.
void host_change(void* ctx, tokend_namespace ns, tokend_change change, const void* key, size_t len) {
    auto* sink = static_cast<StoreChangeSink*>(ctx);
    if (sink == nullptr || !*sink) return;
    const Ns which = ns == TOKEND_NS_FLOW ? Ns::flow : Ns::user;
    StoreChange kind = StoreChange::resync;
    if (change == TOKEND_CHANGE_PUT) kind = StoreChange::put;
    if (change == TOKEND_CHANGE_DELETE) kind = StoreChange::del;
    try {
        (*sink)(which, kind, key ? std::string_view(static_cast<const char*>(key), len)
                                 : std::string_view());
    } catch (...) {
        // Never unwind into the plugin's thread.
    }
}

}  // namespace

Store::Store(std::shared_ptr<StorePlugin> plugin, StoreLogSink log)
    : plugin_(std::move(plugin)),
      table_(plugin_->table()),
      list_entries_(plugin_->list_entries()),
      put_if_equal_(plugin_->put_if_equal()),
      absent_now_(plugin_->absent_now()),
      thread_safe_(plugin_->has(TOKEND_STORE_CAP_THREAD_SAFE)),
      log_(std::move(log)) {}

StoreStatus Store::validate_options(const StorePlugin& plugin, std::string_view config_json, StoreLogSink log,
                                    std::vector<OptionProblem>* problems) {
    problems->clear();
    const auto validate = plugin.validate_options();
    if (validate == nullptr) {
        return StoreStatus::error(StoreCode::internal, "the " + plugin.name() + " plugin cannot check its options");
    }
    ReplyBuffer buffer;
    buffer.problems = problems;
    const tokend_status status = validate(config_json.data(), config_json.size(), &kHostApi, &log,
                                          reinterpret_cast<tokend_reply*>(&buffer));
    StoreStatus result = finish(status, buffer);
    // The contract ties the status to the problems; a plugin that says one and
    // reports the other is answered as the problems say, with a word about it.
    if (result.ok() && !problems->empty()) {
        return StoreStatus::error(StoreCode::invalid, "validate_options returned OK but reported problems");
    }
    if (result.code == StoreCode::invalid && problems->empty()) {
        problems->push_back(OptionProblem{"", result.message.empty() ? "options refused, no reason given"
                                                                   : result.message});
    }
    return result;
}

StoreStatus Store::open(std::shared_ptr<StorePlugin> plugin, std::string_view config_json,
                        StoreLogSink log, std::unique_ptr<Store>* out) {
    out->reset();
    std::unique_ptr<Store> store(new Store(std::move(plugin), std::move(log)));
    ReplyBuffer buffer;
    tokend_store* instance = nullptr;
    const tokend_status status =
        store->table_.open(config_json.data(), config_json.size(), &kHostApi, &store->log_,
                           &instance, reinterpret_cast<tokend_reply*>(&buffer));
    if (status != TOKEND_OK || instance == nullptr) {
        StoreStatus result = finish(status == TOKEND_OK ? TOKEND_INTERNAL : status, buffer);
        // A failed open leaves nothing to close (store.h), whatever *out holds.
        if (status == TOKEND_OK) result.message = "open returned OK without an instance";
        return result;
    }
    store->instance_ = instance;
    *out = std::move(store);
    return StoreStatus::success();
}

Store::~Store() {
    if (instance_ != nullptr) table_.close(instance_);
}

template <typename Call>
StoreStatus Store::call(std::string_view operation, Call&& fn) {
    const auto started = std::chrono::steady_clock::now();
    StoreStatus status;
    if (thread_safe_) {
        status = fn();
    } else {
        std::lock_guard<std::mutex> hold(serial_);
        status = fn();
    }
    if (observer_) observer_(operation, std::chrono::steady_clock::now() - started, status);
    return status;
}

StoreStatus Store::get(Ns ns, std::string_view key, std::string* value) {
    if (key.empty()) return empty_key();
    return call("get", [&] {
        ReplyBuffer buffer;
        buffer.value = value;
        const tokend_status status = table_.get(instance_, to_c(ns), key.data(), key.size(),
                                                reinterpret_cast<tokend_reply*>(&buffer));
        if (status == TOKEND_OK && !buffer.value_set) {
            return StoreStatus::error(StoreCode::internal, "get returned OK without a value");
        }
        return finish(status, buffer);
    });
}

StoreStatus Store::put(Ns ns, std::string_view key, std::string_view value) {
    if (key.empty()) return empty_key();
    return call("put", [&] {
        ReplyBuffer buffer;
        return finish(table_.put(instance_, to_c(ns), key.data(), key.size(), value.data(),
                                 value.size(), reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::del(Ns ns, std::string_view key) {
    if (key.empty()) return empty_key();
    return call("del", [&] {
        ReplyBuffer buffer;
        return finish(table_.del(instance_, to_c(ns), key.data(), key.size(),
                                 reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::take(Ns ns, std::string_view key, std::string* value) {
    if (key.empty()) return empty_key();
    return call("take", [&] {
        ReplyBuffer buffer;
        buffer.value = value;
        const tokend_status status = table_.take(instance_, to_c(ns), key.data(), key.size(),
                                                 reinterpret_cast<tokend_reply*>(&buffer));
        if (status == TOKEND_OK && !buffer.value_set) {
            return StoreStatus::error(StoreCode::internal, "take returned OK without a value");
        }
        return finish(status, buffer);
    });
}

// Not through call(): no serialization (the slot's contract is to answer beside
// any call) and no observer (a map lookup, not a store round trip).
bool Store::absent_now(Ns ns, std::string_view key) const {
    if (absent_now_ == nullptr || key.empty()) return false;
    return absent_now_(instance_, to_c(ns), key.data(), key.size()) == TOKEND_NOT_FOUND;
}

StoreStatus Store::list(Ns ns, std::string_view cursor_in, uint32_t limit, StorePage* page) {
    // The cursor may point into *page (list(ns, page.next_cursor, ...)): copy it first.
    const std::string cursor(cursor_in);
    page->keys.clear();
    page->next_cursor.clear();
    if (limit == 0) return StoreStatus::error(StoreCode::invalid, "list limit must be at least 1");
    return call("list", [&] {
        ReplyBuffer buffer;
        buffer.keys = &page->keys;
        buffer.key_limit = limit;
        buffer.cursor = &page->next_cursor;
        return finish(table_.list(instance_, to_c(ns), cursor.data(), cursor.size(), limit,
                                  reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::walk_pages(
    std::string_view operation,
    const std::function<StoreStatus(const std::string& cursor, std::string* next, size_t* items, bool* stop)>&
        fetch) {
    std::string cursor;
    do {
        std::string next;
        size_t items = 0;
        bool stop = false;
        StoreStatus status = fetch(cursor, &next, &items, &stop);
        if (!status.ok() || stop) return status;
        if (!next.empty() && next == cursor && items == 0) {
            // A cursor that does not move would loop forever.
            return StoreStatus::error(StoreCode::internal,
                                      std::string(operation) + " returned the same cursor without keys");
        }
        cursor = std::move(next);
    } while (!cursor.empty());
    return StoreStatus::success();
}

StoreStatus Store::for_each_key(Ns ns, const std::function<bool(std::string_view)>& visit,
                                uint32_t page_size) {
    StorePage page;
    return walk_pages("list", [&](const std::string& cursor, std::string* next, size_t* items, bool* stop) {
        StoreStatus status = list(ns, cursor, page_size, &page);
        if (!status.ok()) return status;
        for (const std::string& key : page.keys) {
            if (!visit(key)) {
                *stop = true;
                return status;
            }
        }
        *items = page.keys.size();
        *next = std::move(page.next_cursor);
        return status;
    });
}

StoreStatus Store::list_entries(Ns ns, std::string_view cursor_in, uint32_t limit, StoreEntryPage* page) {
    const std::string cursor(cursor_in);  // may point into *page
    page->next_cursor.clear();
    if (!can_list_entries() || limit == 0) {
        page->entries.clear();
        if (!can_list_entries()) return StoreStatus::error(StoreCode::invalid, "store cannot list entries");
        return StoreStatus::error(StoreCode::invalid, "list_entries limit must be at least 1");
    }
    ReplyBuffer buffer;
    buffer.entries = &page->entries;
    buffer.key_limit = limit;
    buffer.cursor = &page->next_cursor;
    StoreStatus status = call("list_entries", [&] {
        return finish(list_entries_(instance_, to_c(ns), cursor.data(), cursor.size(), limit,
                                    reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
    page->entries.resize(buffer.entries_used);  // the last page's left over go
    if (buffer.out_of_memory && status.ok()) {
        // Not a short page: a walk must not take it for the whole one.
        return StoreStatus::error(StoreCode::internal, "out of memory taking a page of entries");
    }
    return status;
}

StoreStatus Store::for_each_entry(Ns ns, const StoreEntryVisitor& visit, uint32_t page_size) {
    if (!can_list_entries()) return for_each_entry_by_get(ns, visit, page_size);
    StoreEntryPage page;
    return walk_pages("list_entries", [&](const std::string& cursor, std::string* next, size_t* items, bool* stop) {
        StoreStatus status = list_entries(ns, cursor, page_size, &page);
        if (!status.ok()) return status;
        for (const StoreEntry& entry : page.entries) {
            // As on the get path, where an empty key cannot be read.
            const std::string_view value = entry.key.empty() ? std::string_view() : entry.value;
            if (!visit(entry.key, value)) {
                *stop = true;
                return status;
            }
        }
        *items = page.entries.size();
        *next = std::move(page.next_cursor);
        return status;
    });
}

// For plugins from before 1.1: a page of keys, then one get per key.
StoreStatus Store::for_each_entry_by_get(Ns ns, const StoreEntryVisitor& visit, uint32_t page_size) {
    StorePage page;
    std::string value;
    return walk_pages("list", [&](const std::string& cursor, std::string* next, size_t* items, bool* stop) {
        StoreStatus status = list(ns, cursor, page_size, &page);
        if (!status.ok()) return status;
        for (const std::string& key : page.keys) {
            value.clear();
            if (!key.empty()) {
                StoreStatus got = get(ns, key, &value);
                if (got.not_found()) continue;  // deleted since it was listed
                if (!got.ok()) {
                    got.message = "get " + std::string(to_string(ns)) + " " + key + ": " + got.message;
                    return got;
                }
            }
            if (!visit(key, value)) {
                *stop = true;
                return status;
            }
        }
        *items = page.keys.size();
        *next = std::move(page.next_cursor);
        return status;
    });
}

StoreStatus Store::lock_acquire(Ns ns, std::string_view key, std::chrono::milliseconds ttl,
                                uint64_t* fencing_token) {
    if (key.empty()) return empty_key();
    if (!can_lock()) return StoreStatus::error(StoreCode::invalid, "store has no lock capability");
    if (ttl.count() <= 0 || ttl.count() > UINT32_MAX) {
        return StoreStatus::error(StoreCode::invalid, "lease ttl out of range");
    }
    return call("lock_acquire", [&] {
        ReplyBuffer buffer;
        *fencing_token = 0;
        return finish(table_.lock_acquire(instance_, to_c(ns), key.data(), key.size(),
                                          static_cast<uint32_t>(ttl.count()), fencing_token,
                                          reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::lock_release(Ns ns, std::string_view key, uint64_t fencing_token) {
    if (key.empty()) return empty_key();
    if (!can_lock()) return StoreStatus::error(StoreCode::invalid, "store has no lock capability");
    return call("lock_release", [&] {
        ReplyBuffer buffer;
        return finish(table_.lock_release(instance_, to_c(ns), key.data(), key.size(),
                                          fencing_token, reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::put_fenced(Ns ns, std::string_view key, std::string_view value,
                              uint64_t fencing_token) {
    if (key.empty()) return empty_key();
    if (!can_lock()) return StoreStatus::error(StoreCode::invalid, "store has no lock capability");
    return call("put_fenced", [&] {
        ReplyBuffer buffer;
        return finish(table_.put_fenced(instance_, to_c(ns), key.data(), key.size(), value.data(),
                                        value.size(), fencing_token,
                                        reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

StoreStatus Store::put_if_equal(Ns ns, std::string_view key, std::string_view expected, std::string_view value,
                                std::optional<uint64_t> fencing_token, std::string* current, bool* changed) {
    // expected or value may point into *current: it is written only at the end.
    *changed = false;
    std::string found;
    StoreStatus result = [&] {
        if (key.empty()) return empty_key();
        if (fencing_token && !can_lock()) {
            return StoreStatus::error(StoreCode::invalid, "store has no lock capability");
        }
        if (put_if_equal_ == nullptr) {
            // A plugin from before 1.2: compare and write in two steps, as before.
            StoreStatus got = get(ns, key, &found);
            if (!got.ok()) return got;
            if (found != expected) {
                *changed = true;
                return StoreStatus::error(StoreCode::conflict, "the stored value changed");
            }
            return fencing_token ? put_fenced(ns, key, value, *fencing_token) : put(ns, key, value);
        }
        return call("put_if_equal", [&] {
            ReplyBuffer buffer;
            buffer.value = &found;
            const uint64_t fence = fencing_token.value_or(0);
            const tokend_status status =
                put_if_equal_(instance_, to_c(ns), key.data(), key.size(), expected.data(), expected.size(),
                              value.data(), value.size(), fencing_token ? &fence : nullptr,
                              reinterpret_cast<tokend_reply*>(&buffer));
            // "Changed" is a CONFLICT with the value found; one without is "fenced out".
            *changed = status == TOKEND_CONFLICT && buffer.value_set;
            StoreStatus outcome = finish(status, buffer);
            if (*changed && outcome.message.empty()) outcome.message = "the stored value changed";
            return outcome;
        });
    }();
    if (*changed) {
        *current = std::move(found);
    } else {
        current->clear();
    }
    return result;
}

StoreStatus Store::subscribe(StoreChangeSink sink) {
    if (!can_notify()) return StoreStatus::error(StoreCode::invalid, "store has no notify capability");
    if (subscribed_) return StoreStatus::error(StoreCode::invalid, "already subscribed");
    change_sink_ = std::move(sink);
    subscribed_ = true;
    return call("subscribe", [&] {
        ReplyBuffer buffer;
        return finish(table_.subscribe(instance_, host_change, &change_sink_,
                                       reinterpret_cast<tokend_reply*>(&buffer)),
                      buffer);
    });
}

}  // namespace tokend
