// The C ABI glue every store plugin of this tree uses the same way: the host
// table check, the argument checks, the status and its message handed to the
// host, and the guard that keeps every exception inside the plugin.
//
// A plugin defines `struct tokend_store` (the handle the host holds) with a
// `const tokend_host_api* host` member, and writes each entry point as one
// call of open_call, store_call, keyed_call or close_call around a body that
// returns a Status. The instance calls are templates so that they see the
// plugin's own definition of the handle. Nothing here is exported: it is
// linked into each plugin.
#pragma once

#include "option_helpers.h"
#include "plugin_support.h"

#include <tokend/store.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace tokend::plugin_support {

// The host table can be used: given, a 1.x table at least as large as 1.0's.
// Without it there is no reply_error to say why a call failed.
bool host_usable(const tokend_host_api* host) noexcept;

// TOKEND_NS_USER or TOKEND_NS_FLOW; else INVALID naming the number.
Status check_namespace(tokend_namespace ns);

// A borrowed input may be NULL only when empty; else INVALID "<what> is NULL".
Status check_input(const void* data, size_t length, const char* what);

// Hands the status's message (if any) to reply_error and returns its code.
// With no host nothing can be said; the code is returned all the same.
tokend_status report(const tokend_host_api* host, tokend_reply* reply, const Status& status) noexcept;

// What an exception that reached the boundary becomes: INTERNAL, "<who>: out
// of memory" or "<who>: unexpected internal error". Its what() is not shown: it
// is not ours to show and could quote input. Call only inside a catch block.
Status internal_error(const char* who) noexcept;

// Runs body() (returning a Status) and reports it; any exception becomes
// internal_error(who). who names the plugin in messages, e.g. "yaml store".
template <typename Body>
tokend_status guarded(const char* who, const tokend_host_api* host, tokend_reply* reply, Body&& body) noexcept {
    try {
        return report(host, reply, body());
    } catch (...) {
        return report(host, reply, internal_error(who));
    }
}

// open(): clears *out, refuses an unusable host table (INVALID, nothing said),
// a NULL out and NULL options, then runs body(options as bytes) guarded. The
// body sets *out only on success.
template <typename Body>
tokend_status open_call(const char* who, const char* config_json, size_t config_len,
                        const tokend_host_api* host, tokend_store** out, tokend_reply* reply,
                        Body&& body) noexcept {
    if (out != nullptr) *out = nullptr;
    if (!host_usable(host)) return TOKEND_INVALID;
    return guarded(who, host, reply, [&]() -> Status {
        if (out == nullptr) return Status::error(TOKEND_INVALID, "open: out is NULL");
        if (config_json == nullptr && config_len != 0) {
            return Status::error(TOKEND_INVALID, "options are NULL");
        }
        return body(bytes(config_json, config_len));
    });
}

// validate_options() (store ABI 1.3): refuses a host without reply_problem
// (INVALID, nothing said: a host that calls validate_options has it) and NULL
// options, then runs body(options as bytes, &problems) guarded. Each problem
// collected goes to reply_problem; a failed status without any problem
// collected becomes a problem of its own when it is INVALID ("options are not
// valid JSON"), else the status stands (the check could not run). OK when no
// problem was found, else INVALID.
template <typename Body>
tokend_status validate_call(const char* who, const char* config_json, size_t config_len,
                            const tokend_host_api* host, tokend_reply* reply, Body&& body) noexcept {
    if (!host_usable(host) ||
        host->struct_size < offsetof(tokend_host_api, reply_problem) + sizeof(host->reply_problem) ||
        host->reply_problem == nullptr) {
        return TOKEND_INVALID;
    }
    return guarded(who, host, reply, [&]() -> Status {
        if (config_json == nullptr && config_len != 0) return Status::error(TOKEND_INVALID, "options are NULL");
        OptionProblems problems;
        Status status = body(bytes(config_json, config_len), &problems);
        if (!status.ok() && status.code != TOKEND_INVALID) return status;
        if (!status.ok() && problems.empty()) problems.push_back(OptionProblem{"", status.message});
        for (const OptionProblem& problem : problems) {
            host->reply_problem(reply, problem.option.data(), problem.option.size(), problem.message.data(),
                                problem.message.size());
        }
        return problems.empty() ? Status::success() : Status{TOKEND_INVALID, {}};
    });
}

// A call on an instance (a tokend_store*): refuses a NULL instance, then runs
// body(*store) guarded.
template <typename Store, typename Body>
tokend_status store_call(const char* who, Store* store, tokend_reply* reply, Body&& body) noexcept {
    const tokend_host_api* host = store != nullptr ? store->host : nullptr;
    return guarded(who, host, reply, [&]() -> Status {
        if (store == nullptr) return Status::error(TOKEND_INVALID, "no store instance");
        return body(*store);
    });
}

// A call on (ns, key) of an instance (key may also be a cursor): refuses a NULL
// instance, an unknown namespace and a NULL key, then runs body(*store, key).
template <typename Store, typename Body>
tokend_status keyed_call(const char* who, Store* store, tokend_namespace ns, const void* key,
                         size_t key_len, tokend_reply* reply, Body&& body) noexcept {
    return store_call(who, store, reply, [&](Store& instance) -> Status {
        Status status = check_namespace(ns);
        if (status.ok()) status = check_input(key, key_len, "key");
        if (!status.ok()) return status;
        return body(instance, bytes(key, key_len));
    });
}

// absent_now() (store ABI 1.4): no reply to speak through, so a NULL instance,
// an unknown namespace or key, or a body that throws is TOKEND_INVALID or
// TOKEND_INTERNAL without a message; the host then takes on a worker thread
// as usual. body(*store, key) returns NOT_FOUND only when surely absent.
template <typename Store, typename Body>
tokend_status absent_call(Store* store, tokend_namespace ns, const void* key, size_t key_len,
                          Body&& body) noexcept {
    if (store == nullptr || !check_namespace(ns).ok() || !check_input(key, key_len, "key").ok()) {
        return TOKEND_INVALID;
    }
    try {
        return body(*store, bytes(key, key_len));
    } catch (...) {
        return TOKEND_INTERNAL;
    }
}

// A listing call (list, list_entries): body(*store, cursor, &next) gives one page
// to the host and sets next; the host then gets next as the cursor that
// continues the listing, unless it is empty (the listing is complete).
template <typename Store, typename Body>
tokend_status page_call(const char* who, Store* store, tokend_namespace ns, const void* cursor,
                        size_t cursor_len, tokend_reply* reply, Body&& body) noexcept {
    return keyed_call(who, store, ns, cursor, cursor_len, reply, [&](Store& self, std::string_view from) {
        std::string next;
        Status status = body(self, from, &next);
        if (status.ok() && !next.empty()) self.host->reply_cursor(reply, next.data(), next.size());
        return status;
    });
}

// The instance handle of a plugin whose store is one C++ object: a plugin
// defines `struct tokend_store : plugin_support::StoreHandle<ItsStore> {};`.
template <typename Impl>
struct StoreHandle {
    const tokend_host_api* host = nullptr;
    std::unique_ptr<Impl> impl;
};

// open() of such a plugin: parse(options text, &options), then
// open_impl(std::move(options), log, &handle->impl), where log(level, message)
// goes to the host's log. *out is set only when both succeed.
template <typename Store, typename Options, typename Parse, typename OpenImpl>
tokend_status open_handle(const char* who, const char* config_json, size_t config_len,
                          const tokend_host_api* host, void* host_ctx, tokend_store** out,
                          tokend_reply* reply, Parse&& parse, OpenImpl&& open_impl) noexcept {
    return open_call(who, config_json, config_len, host, out, reply, [&](std::string_view config) {
        Options options;
        Status status = parse(config, &options);
        if (!status.ok()) return status;
        auto handle = std::make_unique<Store>();
        handle->host = host;
        auto log = [host, host_ctx](tokend_log_level level, const std::string& message) {
            if (host->log != nullptr) host->log(host_ctx, level, message.data(), message.size());
        };
        status = open_impl(std::move(options), std::move(log), &handle->impl);
        if (status.ok()) *out = handle.release();
        return status;
    });
}

// list() of such a plugin, whose object pages keys as
// list(ns, cursor, limit, give(key) -> false when the host wants no more, &next).
template <typename Store>
tokend_status list_keys_call(const char* who, Store* store, tokend_namespace ns, const void* cursor,
                             size_t cursor_len, uint32_t limit, tokend_reply* reply) noexcept {
    return page_call(who, store, ns, cursor, cursor_len, reply,
                     [&](Store& self, std::string_view from, std::string* next) {
                         return self.impl->list(
                             ns, from, limit,
                             [&](std::string_view key) {
                                 return self.host->reply_key(reply, key.data(), key.size()) == 0;
                             },
                             next);
                     });
}

// close(): frees the instance; never fails, never throws.
template <typename Store>
void close_call(Store* store) noexcept {
    try {
        delete store;
    } catch (...) {
        // a destructor that throws would end the process; close never fails
    }
}

}  // namespace tokend::plugin_support
