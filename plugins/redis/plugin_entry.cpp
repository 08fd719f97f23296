// The C ABI of the redis store: the two exported entry points and the function
// table. Each entry point is one call of the shared glue (plugins/common/abi_glue.h):
// argument checks, the message to the host, no exception crossing into it.
#include "abi_glue.h"
#include "options.h"
#include "redis_store.h"

#include <tokend/store.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#ifndef TOKEND_REDIS_STORE_VERSION
#define TOKEND_REDIS_STORE_VERSION "0.0.0"
#endif

// The instance handle the host holds. Defined here, opaque to the host.
struct tokend_store : tokend::plugin_support::StoreHandle<tokend::redis_store::RedisStore> {};

namespace tokend::redis_store {
namespace {

using plugin_support::bytes;
using plugin_support::check_input;
using plugin_support::close_call;
using plugin_support::keyed_call;
using plugin_support::list_keys_call;
using plugin_support::open_handle;
using plugin_support::page_call;
using plugin_support::store_call;

constexpr const char* kWho = "redis store";

tokend_status redis_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                         void* host_ctx, tokend_store** out, tokend_reply* reply) {
    return open_handle<tokend_store, Options>(
        kWho, config_json, config_len, host, host_ctx, out, reply,
        [](std::string_view config, Options* options) { return parse_options(config, options); }, RedisStore::open);
}

// The options parsed (the password file read), every problem named; no
// connection. Whether Redis answers is a fact of the moment, not of the
// configuration: a check run on a build host, or before Redis is up, must not
// fail for it, and a reload must not wait a connect timeout on it. /readyz
// and the start itself report an unreachable Redis.
tokend_status redis_validate_options(const char* config_json, size_t config_len, const tokend_host_api* host,
                                     void*, tokend_reply* reply) {
    return plugin_support::validate_call(kWho, config_json, config_len, host, reply,
                                         [](std::string_view config, plugin_support::OptionProblems* problems) {
                                             Options options;
                                             return parse_options(config, &options, problems);
                                         });
}

// Joins the subscriber thread, closes the connections.
void redis_close(tokend_store* store) { close_call(store); }

tokend_status redis_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        std::string value;
        Status status = self.impl->get(ns, name, &value);
        if (status.ok()) self.host->reply_value(reply, value.data(), value.size());
        return status;
    });
}

tokend_status redis_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        const void* value, size_t value_len, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        Status status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        return self.impl->put(ns, name, bytes(value, value_len));
    });
}

tokend_status redis_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply,
                      [&](tokend_store& self, std::string_view name) { return self.impl->del(ns, name); });
}

tokend_status redis_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        std::string value;
        Status status = self.impl->take(ns, name, &value);
        if (status.ok()) self.host->reply_value(reply, value.data(), value.size());
        return status;
    });
}

tokend_status redis_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                         size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_keys_call(kWho, store, ns, cursor, cursor_len, limit, reply);
}

tokend_status redis_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                 size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return page_call(kWho, store, ns, cursor, cursor_len, reply,
                     [&](tokend_store& self, std::string_view from, std::string* next) {
                         return self.impl->list_entries(
                             ns, from, limit,
                             [&](std::string_view key, std::string_view value) {
                                 return self.host->reply_entry(reply, key.data(), key.size(), value.data(),
                                                               value.size()) == 0;
                             },
                             next);
                     });
}

tokend_status redis_lock_acquire(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, uint32_t ttl_ms, uint64_t* fence, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        if (fence == nullptr) return Status::error(TOKEND_INVALID, "lock_acquire: fencing_token is NULL");
        return self.impl->lock_acquire(ns, name, ttl_ms, fence);
    });
}

tokend_status redis_lock_release(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, uint64_t fence, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        return self.impl->lock_release(ns, name, fence);
    });
}

tokend_status redis_put_fenced(tokend_store* store, tokend_namespace ns, const void* key,
                               size_t key_len, const void* value, size_t value_len, uint64_t fence,
                               tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        Status status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        return self.impl->put_fenced(ns, name, bytes(value, value_len), fence);
    });
}

tokend_status redis_put_if_equal(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                                 const void* expected, size_t expected_len, const void* value, size_t value_len,
                                 const uint64_t* fence, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        Status status = check_input(expected, expected_len, "expected");
        if (status.ok()) status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        std::string current;
        bool changed = false;
        status = self.impl->put_if_equal(ns, name, bytes(expected, expected_len), bytes(value, value_len), fence,
                                         &current, &changed);
        if (changed) self.host->reply_value(reply, current.data(), current.size());
        return status;
    });
}

tokend_status redis_subscribe(tokend_store* store, tokend_change_fn fn, void* ctx, tokend_reply* reply) {
    return store_call(kWho, store, reply, [&](tokend_store& self) { return self.impl->subscribe(fn, ctx); });
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
    redis_put_if_equal,
    redis_validate_options,
    nullptr,  // absent_now: a take asks the server, so it always goes to a worker thread
};

}  // namespace
}  // namespace tokend::redis_store

extern "C" {

TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }

TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) {
    return &tokend::redis_store::kPlugin;
}

}  // extern "C"
