// The C ABI of the yaml store: the two exported entry points and the function table.
// Every entry point catches everything; no exception crosses into the host.
#include "options.h"
#include "yaml_store.h"

#include <tokend/store.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <new>

#ifndef TOKEND_YAML_STORE_VERSION
#define TOKEND_YAML_STORE_VERSION "0.0.0"
#endif

// The instance handle the host holds. Defined here, opaque to the host.
struct tokend_store {
    const tokend_host_api* host = nullptr;
    std::unique_ptr<tokend::yaml_store::YamlStore> impl;
};

namespace tokend::yaml_store {
namespace {

using plugin_support::bytes;
using plugin_support::kHostApiMinSize;

tokend_status report(const tokend_host_api* host, tokend_reply* reply, const Status& status) {
    if (!status.message.empty() && host != nullptr && host->reply_error != nullptr) {
        host->reply_error(reply, status.message.data(), status.message.size());
    }
    return status.code;
}

// Runs one call; exceptions become TOKEND_INTERNAL (their text may not be ours to
// show: it could quote input).
template <typename Call>
tokend_status guarded(const tokend_host_api* host, tokend_reply* reply, Call&& call) noexcept {
    try {
        return report(host, reply, call());
    } catch (const std::bad_alloc&) {
        return report(host, reply, Status::error(TOKEND_INTERNAL, "yaml store: out of memory"));
    } catch (...) {
        return report(host, reply,
                      Status::error(TOKEND_INTERNAL, "yaml store: unexpected internal error"));
    }
}

Status check_call(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len) {
    if (store == nullptr || !store->impl) return Status::error(TOKEND_INVALID, "no store instance");
    if (ns != TOKEND_NS_USER && ns != TOKEND_NS_FLOW) {
        return Status::error(TOKEND_INVALID,
                             "unknown namespace " + std::to_string(static_cast<int>(ns)));
    }
    if (key == nullptr && key_len != 0) return Status::error(TOKEND_INVALID, "key is NULL");
    return Status::success();
}

const tokend_host_api* host_of(tokend_store* store) {
    return store != nullptr ? store->host : nullptr;
}

tokend_status yaml_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                        void* host_ctx, tokend_store** out, tokend_reply* reply) {
    if (out != nullptr) *out = nullptr;
    if (host == nullptr || host->struct_size < kHostApiMinSize ||
        (host->abi_version >> 16) != TOKEND_STORE_ABI_MAJOR) {
        return TOKEND_INVALID;  // no usable reply_error to say why
    }
    return guarded(host, reply, [&] {
        if (out == nullptr) return Status::error(TOKEND_INVALID, "open: out is NULL");
        if (config_json == nullptr && config_len != 0) {
            return Status::error(TOKEND_INVALID, "options are NULL");
        }
        Options options;
        Status status = parse_options(bytes(config_json, config_len), &options);
        if (!status.ok()) return status;
        auto handle = std::make_unique<tokend_store>();
        handle->host = host;
        YamlStore::Log log = [host, host_ctx](tokend_log_level level, const std::string& message) {
            if (host->log != nullptr) host->log(host_ctx, level, message.data(), message.size());
        };
        status = YamlStore::open(options, std::move(log), &handle->impl);
        if (status.ok()) *out = handle.release();
        return status;
    });
}

void yaml_close(tokend_store* store) {
    try {
        delete store;
    } catch (...) {
        // close never fails
    }
}

tokend_status yaml_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, key, key_len);
        EntryPtr found;
        if (status.ok()) status = store->impl->get(ns, bytes(key, key_len), &found);
        if (status.ok()) store->host->reply_value(reply, found->value.data(), found->value.size());
        return status;
    });
}

tokend_status yaml_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       const void* value, size_t value_len, tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, key, key_len);
        if (status.ok() && value == nullptr && value_len != 0) {
            status = Status::error(TOKEND_INVALID, "value is NULL");
        }
        if (status.ok())
            status = store->impl->put(ns, bytes(key, key_len), bytes(value, value_len));
        return status;
    });
}

tokend_status yaml_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, key, key_len);
        if (status.ok()) status = store->impl->del(ns, bytes(key, key_len));
        return status;
    });
}

tokend_status yaml_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, key, key_len);
        EntryPtr taken;
        if (status.ok()) status = store->impl->take(ns, bytes(key, key_len), &taken);
        if (status.ok()) store->host->reply_value(reply, taken->value.data(), taken->value.size());
        return status;
    });
}

tokend_status yaml_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                        size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, cursor, cursor_len);
        std::string next_cursor;
        if (status.ok()) {
            status = store->impl->list(
                ns, bytes(cursor, cursor_len), limit,
                [&](std::string_view key) {
                    return store->host->reply_key(reply, key.data(), key.size()) == 0;
                },
                &next_cursor);
        }
        if (status.ok() && !next_cursor.empty()) {
            store->host->reply_cursor(reply, next_cursor.data(), next_cursor.size());
        }
        return status;
    });
}

tokend_status yaml_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return guarded(host_of(store), reply, [&] {
        Status status = check_call(store, ns, cursor, cursor_len);
        std::string next_cursor;
        if (status.ok()) {
            status = store->impl->list_entries(
                ns, bytes(cursor, cursor_len), limit,
                [&](std::string_view key, const Entry& entry) {
                    return store->host->reply_entry(reply, key.data(), key.size(), entry.value.data(),
                                                    entry.value.size()) == 0;
                },
                &next_cursor);
        }
        if (status.ok() && !next_cursor.empty()) {
            store->host->reply_cursor(reply, next_cursor.data(), next_cursor.size());
        }
        return status;
    });
}

const tokend_store_plugin kPlugin = {
    sizeof(tokend_store_plugin),
    TOKEND_STORE_ABI_VERSION,
    "yaml",
    TOKEND_YAML_STORE_VERSION,
    TOKEND_STORE_CAP_THREAD_SAFE,
    yaml_open,
    yaml_close,
    yaml_get,
    yaml_put,
    yaml_del,
    yaml_take,
    yaml_list,
    nullptr,  // lock_acquire: no TOKEND_STORE_CAP_LOCK (one process owns the files)
    nullptr,  // lock_release
    nullptr,  // put_fenced
    nullptr,  // subscribe: no TOKEND_STORE_CAP_NOTIFY (nobody else writes the files)
    yaml_list_entries,
};

}  // namespace
}  // namespace tokend::yaml_store

extern "C" {

TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }

TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) {
    return &tokend::yaml_store::kPlugin;
}

}  // extern "C"
