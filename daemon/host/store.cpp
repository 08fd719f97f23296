#include "host/store.h"

#include <exception>

namespace tokend {
namespace {

// What one call collects through the host API; this is the tokend_reply the plugin sees.
struct ReplyBuffer {
    std::string* value = nullptr;  // get/take destination
    bool value_set = false;
    std::vector<std::string>* keys = nullptr;  // list destination
    uint32_t key_limit = 0;
    std::string* cursor = nullptr;
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
    host_reply_cursor,       host_reply_error,         host_log,
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
      thread_safe_(plugin_->has(TOKEND_STORE_CAP_THREAD_SAFE)),
      log_(std::move(log)) {}

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

StoreStatus Store::for_each_key(Ns ns, const std::function<bool(std::string_view)>& visit,
                                uint32_t page_size) {
    StorePage page;
    std::string cursor;
    do {
        StoreStatus status = list(ns, cursor, page_size, &page);
        if (!status.ok()) return status;
        for (const std::string& key : page.keys) {
            if (!visit(key)) return StoreStatus::success();
        }
        if (!page.next_cursor.empty() && page.next_cursor == cursor && page.keys.empty()) {
            // A cursor that does not move would loop forever.
            return StoreStatus::error(StoreCode::internal, "list returned the same cursor without keys");
        }
        cursor = page.next_cursor;
    } while (!cursor.empty());
    return StoreStatus::success();
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
