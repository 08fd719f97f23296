// The C ABI of the yaml store: the two exported entry points and the function table.
// Each entry point is one call of the shared glue (plugins/common/abi_glue.h):
// argument checks, the message to the host, no exception crossing into it.
#include "abi_glue.h"
#include "options.h"
#include "yaml_store.h"

#include <tokend/store.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#ifndef TOKEND_YAML_STORE_VERSION
#define TOKEND_YAML_STORE_VERSION "0.0.0"
#endif

// The instance handle the host holds. Defined here, opaque to the host.
struct tokend_store : tokend::plugin_support::StoreHandle<tokend::yaml_store::YamlStore> {};

namespace tokend::yaml_store {
namespace {

using plugin_support::bytes;
using plugin_support::close_call;
using plugin_support::keyed_call;
using plugin_support::list_keys_call;
using plugin_support::open_handle;
using plugin_support::page_call;

constexpr const char* kWho = "yaml store";

tokend_status yaml_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                        void* host_ctx, tokend_store** out, tokend_reply* reply) {
    return open_handle<tokend_store, Options>(
        kWho, config_json, config_len, host, host_ctx, out, reply,
        [](std::string_view config, Options* options) { return parse_options(config, options); }, YamlStore::open);
}

// Reads and parses the files, takes no lock and writes nothing: safe beside a
// running instance of the same files.
tokend_status yaml_validate_options(const char* config_json, size_t config_len, const tokend_host_api* host,
                                    void*, tokend_reply* reply) {
    return plugin_support::validate_call(kWho, config_json, config_len, host, reply, check_options);
}

void yaml_close(tokend_store* store) { close_call(store); }

tokend_status yaml_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        EntryPtr found;
        Status status = self.impl->get(ns, name, &found);
        if (status.ok()) self.host->reply_value(reply, found->value.data(), found->value.size());
        return status;
    });
}

tokend_status yaml_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       const void* value, size_t value_len, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        Status status = plugin_support::check_input(value, value_len, "value");
        if (!status.ok()) return status;
        return self.impl->put(ns, name, bytes(value, value_len));
    });
}

tokend_status yaml_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                       tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        return self.impl->del(ns, name);
    });
}

tokend_status yaml_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                        tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        EntryPtr taken;
        Status status = self.impl->take(ns, name, &taken);
        if (status.ok()) self.host->reply_value(reply, taken->value.data(), taken->value.size());
        return status;
    });
}

tokend_status yaml_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                        size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_keys_call(kWho, store, ns, cursor, cursor_len, limit, reply);
}

tokend_status yaml_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return page_call(kWho, store, ns, cursor, cursor_len, reply,
                     [&](tokend_store& self, std::string_view from, std::string* next) {
                         return self.impl->list_entries(
                             ns, from, limit,
                             [&](std::string_view key, const Entry& entry) {
                                 return self.host->reply_entry(reply, key.data(), key.size(), entry.value.data(),
                                                               entry.value.size()) == 0;
                             },
                             next);
                     });
}

tokend_status yaml_put_if_equal(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                                const void* expected, size_t expected_len, const void* value, size_t value_len,
                                const uint64_t* fencing_token, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](tokend_store& self, std::string_view name) {
        Status status = plugin_support::check_input(expected, expected_len, "expected");
        if (status.ok()) status = plugin_support::check_input(value, value_len, "value");
        if (!status.ok()) return status;
        if (fencing_token != nullptr) return Status::error(TOKEND_INVALID, "put_if_equal: no leases in this store");
        EntryPtr current;
        status = self.impl->put_if_equal(ns, name, bytes(expected, expected_len), bytes(value, value_len), &current);
        if (current) self.host->reply_value(reply, current->value.data(), current->value.size());
        return status;
    });
}

// From memory: the files are written by a group commit that does not hold the
// store's mutex, so the loop thread may ask (store ABI 1.4).
tokend_status yaml_absent_now(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len) {
    return plugin_support::absent_call(store, ns, key, key_len, [&](tokend_store& self, std::string_view name) {
        return self.impl->absent_now(ns, name) ? TOKEND_NOT_FOUND : TOKEND_OK;
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
    yaml_put_if_equal,
    yaml_validate_options,
    yaml_absent_now,
};

}  // namespace
}  // namespace tokend::yaml_store

extern "C" {

TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }

TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) {
    return &tokend::yaml_store::kPlugin;
}

}  // extern "C"
