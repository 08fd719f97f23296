// The C ABI of the redis store: the two exported entry points and the function
// table. Every entry point catches everything; no exception crosses into the host.
#include "options.h"
#include "redis_store.h"

#include <tokend/store.h>

#include <cstddef>
#include <memory>
#include <new>

#ifndef TOKEND_REDIS_STORE_VERSION
#define TOKEND_REDIS_STORE_VERSION "0.0.0"
#endif

// The instance handle the host holds. Defined here, opaque to the host.
struct tokend_store {
    const tokend_host_api* host = nullptr;
    std::unique_ptr<tokend::redis_store::RedisStore> impl;
};

namespace tokend::redis_store {
namespace {

using plugin_support::bytes;
using plugin_support::kHostApiMinSize;

// Runs one call on a checked instance; the status's message goes to reply_error
// and exceptions become TOKEND_INTERNAL (their text is not ours to show).
template <typename Call>
tokend_status guarded(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                      tokend_reply* reply, Call&& call) noexcept {
    const tokend_host_api* host = store != nullptr ? store->host : nullptr;
    Status status;
    try {
        if (store == nullptr || !store->impl) {
            status = Status::error(TOKEND_INVALID, "no store instance");
        } else if (ns != TOKEND_NS_USER && ns != TOKEND_NS_FLOW) {
            status = Status::error(TOKEND_INVALID, "unknown namespace " + std::to_string(static_cast<int>(ns)));
        } else if (key == nullptr && key_len != 0) {
            status = Status::error(TOKEND_INVALID, "key is NULL");
        } else {
            status = call(*store->impl, bytes(key, key_len));
        }
    } catch (const std::bad_alloc&) {
        status = Status::error(TOKEND_INTERNAL, "redis store: out of memory");
    } catch (...) {
        status = Status::error(TOKEND_INTERNAL, "redis store: unexpected internal error");
    }
    if (!status.message.empty() && host != nullptr) {
        host->reply_error(reply, status.message.data(), status.message.size());
    }
    return status.code;
}

tokend_status redis_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                         void* host_ctx, tokend_store** out, tokend_reply* reply) {
    if (out != nullptr) *out = nullptr;
    if (host == nullptr || host->struct_size < kHostApiMinSize ||
        (host->abi_version >> 16) != TOKEND_STORE_ABI_MAJOR) {
        return TOKEND_INVALID;  // no usable reply_error to say why
    }
    Status status;
    try {
        Options options;
        if (out == nullptr) {
            status = Status::error(TOKEND_INVALID, "open: out is NULL");
        } else if (config_json == nullptr && config_len != 0) {
            status = Status::error(TOKEND_INVALID, "options are NULL");
        } else {
            status = parse_options(bytes(config_json, config_len), &options);
        }
        if (status.ok()) {
            auto handle = std::make_unique<tokend_store>();
            handle->host = host;
            RedisStore::Log log = [host, host_ctx](tokend_log_level level, const std::string& message) {
                host->log(host_ctx, level, message.data(), message.size());
            };
            status = RedisStore::open(std::move(options), std::move(log), &handle->impl);
            if (status.ok()) *out = handle.release();
        }
    } catch (...) {
        status = Status::error(TOKEND_INTERNAL, "redis store: unexpected internal error while opening");
    }
    if (!status.message.empty()) host->reply_error(reply, status.message.data(), status.message.size());
    return status.code;
}

void redis_close(tokend_store* store) {
    try {
        delete store;  // joins the subscriber thread, closes the connections
    } catch (...) {
        // close never fails
    }
}

tokend_status redis_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        std::string value;
        Status status = impl.get(ns, name, &value);
        if (status.ok()) store->host->reply_value(reply, value.data(), value.size());
        return status;
    });
}

tokend_status redis_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        const void* value, size_t value_len, tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        if (value == nullptr && value_len != 0) return Status::error(TOKEND_INVALID, "value is NULL");
        return impl.put(ns, name, bytes(value, value_len));
    });
}

tokend_status redis_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply,
                   [&](RedisStore& impl, std::string_view name) { return impl.del(ns, name); });
}

tokend_status redis_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        std::string value;
        Status status = impl.take(ns, name, &value);
        if (status.ok()) store->host->reply_value(reply, value.data(), value.size());
        return status;
    });
}

tokend_status redis_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                         size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return guarded(store, ns, cursor, cursor_len, reply, [&](RedisStore& impl, std::string_view from) {
        std::string next;
        Status status = impl.list(
            ns, from, limit,
            [&](std::string_view key) { return store->host->reply_key(reply, key.data(), key.size()) == 0; },
            &next);
        if (status.ok() && !next.empty()) store->host->reply_cursor(reply, next.data(), next.size());
        return status;
    });
}

tokend_status redis_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                 size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return guarded(store, ns, cursor, cursor_len, reply, [&](RedisStore& impl, std::string_view from) {
        std::string next;
        Status status = impl.list_entries(
            ns, from, limit,
            [&](std::string_view key, std::string_view value) {
                return store->host->reply_entry(reply, key.data(), key.size(), value.data(), value.size()) == 0;
            },
            &next);
        if (status.ok() && !next.empty()) store->host->reply_cursor(reply, next.data(), next.size());
        return status;
    });
}

tokend_status redis_lock_acquire(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, uint32_t ttl_ms, uint64_t* fence, tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        if (fence == nullptr) return Status::error(TOKEND_INVALID, "lock_acquire: fencing_token is NULL");
        return impl.lock_acquire(ns, name, ttl_ms, fence);
    });
}

tokend_status redis_lock_release(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, uint64_t fence, tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        return impl.lock_release(ns, name, fence);
    });
}

tokend_status redis_put_fenced(tokend_store* store, tokend_namespace ns, const void* key,
                               size_t key_len, const void* value, size_t value_len, uint64_t fence,
                               tokend_reply* reply) {
    return guarded(store, ns, key, key_len, reply, [&](RedisStore& impl, std::string_view name) {
        if (value == nullptr && value_len != 0) return Status::error(TOKEND_INVALID, "value is NULL");
        return impl.put_fenced(ns, name, bytes(value, value_len), fence);
    });
}

tokend_status redis_subscribe(tokend_store* store, tokend_change_fn fn, void* ctx, tokend_reply* reply) {
    return guarded(store, TOKEND_NS_USER, nullptr, 0, reply,
                   [&](RedisStore& impl, std::string_view) { return impl.subscribe(fn, ctx); });
}

// SHARED: other processes see the same data. THREAD_SAFE: each call borrows its
// own pooled connection. LOCK and NOTIFY: leases and pub/sub, see docs/redis.md.
const tokend_store_plugin kPlugin = {
    sizeof(tokend_store_plugin),
    TOKEND_STORE_ABI_VERSION,
    "redis",
    TOKEND_REDIS_STORE_VERSION,
    TOKEND_STORE_CAP_THREAD_SAFE | TOKEND_STORE_CAP_LOCK | TOKEND_STORE_CAP_NOTIFY |
        TOKEND_STORE_CAP_SHARED,
    redis_open,
    redis_close,
    redis_get,
    redis_put,
    redis_del,
    redis_take,
    redis_list,
    redis_lock_acquire,
    redis_lock_release,
    redis_put_fenced,
    redis_subscribe,
    redis_list_entries,
};

}  // namespace
}  // namespace tokend::redis_store

extern "C" {

TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }

TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) {
    return &tokend::redis_store::kPlugin;
}

}  // extern "C"
