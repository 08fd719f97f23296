#include "raw_store.h"

namespace tokend::conformance {
namespace {

RawReply* as_reply(tokend_reply* reply) { return reinterpret_cast<RawReply*>(reply); }

std::string bytes(const void* data, size_t len) {
    return len == 0 ? std::string() : std::string(static_cast<const char*>(data), len);
}

// The host functions never let an exception reach the plugin (ABI rule).
void record_value(tokend_reply* reply, const void* value, size_t len) {
    try {
        as_reply(reply)->values.push_back(bytes(value, len));
    } catch (...) {
    }
}

int record_key(tokend_reply* reply, const void* key, size_t len) {
    RawReply* recorded = as_reply(reply);
    try {
        if (recorded->keys.size() >= recorded->stop_after) ++recorded->keys_after_stop;
        recorded->keys.push_back(bytes(key, len));
    } catch (...) {
        return 1;
    }
    return recorded->keys.size() >= recorded->stop_after ? 1 : 0;
}

int record_entry(tokend_reply* reply, const void* key, size_t key_len, const void* value, size_t value_len) {
    try {
        as_reply(reply)->entry_values.push_back(bytes(value, value_len));
    } catch (...) {
        return 1;
    }
    return record_key(reply, key, key_len);
}

void record_cursor(tokend_reply* reply, const void* cursor, size_t len) {
    try {
        ++as_reply(reply)->cursor_calls;
        as_reply(reply)->cursor = bytes(cursor, len);
    } catch (...) {
    }
}

void record_error(tokend_reply* reply, const char* message, size_t len) {
    try {
        as_reply(reply)->error = bytes(message, len);
    } catch (...) {
    }
}

void forward_log(void* host_ctx, tokend_log_level level, const char* message, size_t len) {
    auto* log = static_cast<RawStore::LogFn*>(host_ctx);
    try {
        if (log != nullptr && *log) (*log)(level, std::string_view(message, message ? len : 0));
    } catch (...) {
    }
}

void record_problem(tokend_reply* reply, const char* option, size_t option_len, const char* message,
                    size_t message_len) {
    try {
        as_reply(reply)->problems.push_back(bytes(option, option_len) + ": " + bytes(message, message_len));
    } catch (...) {
    }
}

const tokend_host_api kProbeHost = {
    sizeof(tokend_host_api), TOKEND_STORE_ABI_VERSION, record_value, record_key,
    record_cursor,           record_error,             forward_log,  record_entry,
    record_problem,
};

tokend_namespace to_c(Ns ns) { return ns == Ns::user ? TOKEND_NS_USER : TOKEND_NS_FLOW; }

tokend_reply* as_c(RawReply& reply) { return reinterpret_cast<tokend_reply*>(&reply); }

}  // namespace

RawStore::RawStore(std::shared_ptr<StorePlugin> plugin, LogFn log)
    : plugin_(std::move(plugin)),
      table_(plugin_->table()),
      log_(std::make_unique<LogFn>(std::move(log))) {}

RawResult RawStore::open(std::shared_ptr<StorePlugin> plugin, std::string_view config, LogFn log,
                         std::unique_ptr<RawStore>* out, bool* out_left_null) {
    out->reset();
    std::unique_ptr<RawStore> store(new RawStore(std::move(plugin), std::move(log)));
    RawResult result;
    // Like the real host: *out starts NULL, and the plugin must leave it NULL on failure.
    tokend_store* instance = nullptr;
    result.status = store->table_.open(config.data(), config.size(), &kProbeHost,
                                       store->log_.get(), &instance, as_c(result.reply));
    if (out_left_null != nullptr) *out_left_null = instance == nullptr;
    if (result.status == TOKEND_OK && instance != nullptr) {
        store->instance_ = instance;
        *out = std::move(store);
    }
    return result;
}

RawStore::~RawStore() {
    if (instance_ != nullptr) table_.close(instance_);
}

template <typename Call>
RawResult RawStore::call(uint32_t stop_after, Call&& fn) {
    RawResult result;
    result.reply.stop_after = stop_after;
    std::unique_lock<std::mutex> hold(serial_, std::defer_lock);
    if (!plugin_->has(TOKEND_STORE_CAP_THREAD_SAFE)) hold.lock();
    result.status = fn(as_c(result.reply));
    return result;
}

RawResult RawStore::get(Ns ns, std::string_view key) {
    return call(UINT32_MAX, [&](tokend_reply* reply) {
        return table_.get(instance_, to_c(ns), key.data(), key.size(), reply);
    });
}

RawResult RawStore::put(Ns ns, std::string_view key, std::string_view value) {
    return call(UINT32_MAX, [&](tokend_reply* reply) {
        return table_.put(instance_, to_c(ns), key.data(), key.size(), value.data(), value.size(),
                          reply);
    });
}

RawResult RawStore::del(Ns ns, std::string_view key) {
    return call(UINT32_MAX, [&](tokend_reply* reply) {
        return table_.del(instance_, to_c(ns), key.data(), key.size(), reply);
    });
}

RawResult RawStore::take(Ns ns, std::string_view key) {
    return call(UINT32_MAX, [&](tokend_reply* reply) {
        return table_.take(instance_, to_c(ns), key.data(), key.size(), reply);
    });
}

RawResult RawStore::list(Ns ns, std::string_view cursor, uint32_t limit, uint32_t stop_after) {
    return call(stop_after, [&](tokend_reply* reply) {
        return table_.list(instance_, to_c(ns), cursor.data(), cursor.size(), limit, reply);
    });
}

RawResult RawStore::list_entries(Ns ns, std::string_view cursor, uint32_t limit, uint32_t stop_after) {
    return call(stop_after, [&](tokend_reply* reply) {
        return plugin_->list_entries()(instance_, to_c(ns), cursor.data(), cursor.size(), limit, reply);
    });
}

RawResult RawStore::put_if_equal(Ns ns, std::string_view key, std::string_view expected, std::string_view value,
                                 const uint64_t* fencing_token) {
    return call(UINT32_MAX, [&](tokend_reply* reply) {
        return plugin_->put_if_equal()(instance_, to_c(ns), key.data(), key.size(), expected.data(), expected.size(),
                                       value.data(), value.size(), fencing_token, reply);
    });
}

}  // namespace tokend::conformance
