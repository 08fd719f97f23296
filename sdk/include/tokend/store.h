/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the tokend authors. Licensed under the Apache License,
 * Version 2.0 (LICENSE at the top of the source tree; on Debian
 * /usr/share/common-licenses/Apache-2.0). Store plugins may be written against
 * this header, and distributed, under Apache-2.0. */
/*
 * tokend storage plugin ABI, version 1.4.
 *
 * A store plugin is a shared library that tokend loads with
 * dlopen(RTLD_NOW | RTLD_LOCAL). It keeps opaque byte values by key in two
 * namespaces (users and pending OAuth flows). This header is the whole
 * contract; docs/plugin-abi.md explains it with examples.
 *
 * Loading sequence (the host never touches a struct before step 2 passes):
 *   1. dlsym("tokend_store_abi_version") and call it.
 *   2. The major part must equal TOKEND_STORE_ABI_MAJOR; any minor is accepted.
 *   3. dlsym("tokend_store_plugin_entry") and call it; it returns a pointer to a
 *      static, immutable tokend_store_plugin that lives until dlclose.
 *   4. The host reads plugin->struct_size and uses only the slots that size
 *      covers; it refuses a struct smaller than TOKEND_STORE_PLUGIN_MIN_SIZE
 *      and a capability bit whose functions are NULL or not covered.
 *
 * Minor versions only append: slots at the end of tokend_store_plugin, functions
 * at the end of tokend_host_api. Each side reads the other's struct_size:
 *   - A 1.0 plugin on a 1.1 host: its table ends before list_entries, so the
 *     host treats list_entries as absent and loads users with list + get.
 *   - A 1.1 plugin on a 1.0 host: the host never reads list_entries and so never
 *     calls it; reply_entry (which the 1.0 host table lacks) is only called from
 *     inside list_entries, so the plugin never reaches past the host's table.
 *   - 1.2 appends put_if_equal: a host reads it only when the plugin's
 *     struct_size covers it (else it compares and writes in two steps itself);
 *     an older host never calls it.
 *   - 1.3 appends validate_options (plugin table) and reply_problem (host
 *     table): a host without validate_options in the plugin's table says the
 *     options could not be checked before opening; reply_problem is called only
 *     from inside validate_options, which only a 1.3 host calls.
 *   - 1.4 appends absent_now (plugin table): a host without it (or a plugin
 *     that leaves it NULL) asks take on a worker thread, as before; an older
 *     host never calls it.
 *
 * Memory ownership: no allocation ever crosses the boundary.
 *   - Inputs (keys, values, config) are borrowed pointer + length pairs, valid
 *     only for the duration of the call. Keys and values may contain any byte,
 *     including NUL; nothing is NUL-terminated unless stated. Keys are at least
 *     one byte long (the host never passes an empty key); values may be empty.
 *   - Outputs go through the host's reply functions (tokend_host_api), which
 *     copy what they are given before returning. A plugin never frees host
 *     memory and the host never frees plugin memory.
 *
 * Threading:
 *   - open() and close() are never called concurrently with anything else on
 *     the same instance.
 *   - If the plugin sets TOKEND_STORE_CAP_THREAD_SAFE, the host may call every
 *     other function of one instance concurrently from any number of threads.
 *     Otherwise the host serializes all calls on one instance (still possibly
 *     from different threads, one at a time).
 *   - Different instances may always be used concurrently.
 *   - The host never calls a store function from its event-loop thread, so a
 *     plugin may block (disk, network) within its own timeouts. The one
 *     exception is absent_now (1.4), which must never block.
 *   - Change callbacks (TOKEND_STORE_CAP_NOTIFY) may come from any thread,
 *     concurrently with calls; they must not call back into the store.
 *
 * Errors: every operation returns a tokend_status. TOKEND_OK and
 * TOKEND_NOT_FOUND are normal outcomes; for the others the plugin should pass
 * a short human-readable reason through reply_error. Messages must never
 * contain values (they hold tokens) and no C++ exception may leave a call.
 */
#ifndef TOKEND_STORE_H
#define TOKEND_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOKEND_STORE_ABI_MAJOR 1
#define TOKEND_STORE_ABI_MINOR 4
#define TOKEND_STORE_ABI_VERSION \
    ((uint32_t)((TOKEND_STORE_ABI_MAJOR << 16) | TOKEND_STORE_ABI_MINOR))

#if defined(__GNUC__)
#define TOKEND_EXPORT __attribute__((visibility("default")))
#else
#define TOKEND_EXPORT
#endif

/* Results. Kept small and closed; new codes only with a new major version. */
typedef enum tokend_status {
    TOKEND_OK = 0,
    TOKEND_NOT_FOUND = 1,   /* no such key: a normal outcome, not an error */
    TOKEND_UNAVAILABLE = 2, /* transient (backend unreachable, timeout): retry later */
    TOKEND_CONFLICT = 3,    /* lock held by another owner, or a stale fencing token */
    TOKEND_INVALID = 4,     /* bad argument or configuration: retrying will not help */
    TOKEND_CORRUPT = 5,     /* stored data or backend state cannot be read */
    TOKEND_INTERNAL = 6     /* anything else permanent (out of memory, bug) */
} tokend_status;

/* The two key spaces. A key in one never collides with the same key in the other. */
typedef enum tokend_namespace {
    TOKEND_NS_USER = 0, /* user id -> user context (JSON as the original stored it) */
    TOKEND_NS_FLOW = 1  /* flow id -> pending flow state (JSON) */
} tokend_namespace;

/* Capability bits (tokend_store_plugin.capabilities). */
/* Functions other than open/close may be called concurrently. */
#define TOKEND_STORE_CAP_THREAD_SAFE (UINT64_C(1) << 0)
/* lock_acquire, lock_release and put_fenced are provided. */
#define TOKEND_STORE_CAP_LOCK (UINT64_C(1) << 1)
/* subscribe is provided: changes made elsewhere are reported. */
#define TOKEND_STORE_CAP_NOTIFY (UINT64_C(1) << 2)
/* The data is shared with other processes (maybe on other hosts) that open
 * the same configuration. Without this bit the host assumes it is the only
 * writer and may serve reads from its own cache indefinitely. */
#define TOKEND_STORE_CAP_SHARED (UINT64_C(1) << 3)

/* What a change notification reports. */
typedef enum tokend_change {
    TOKEND_CHANGE_PUT = 0,     /* key was written */
    TOKEND_CHANGE_DELETE = 1,  /* key was deleted or taken */
    TOKEND_CHANGE_RESYNC = 2   /* events may have been lost (e.g. reconnect): the host
                                  must re-read everything; key is empty */
} tokend_change;

typedef enum tokend_log_level {
    TOKEND_LOG_DEBUG = 0,
    TOKEND_LOG_INFO = 1,
    TOKEND_LOG_WARN = 2,
    TOKEND_LOG_ERROR = 3
} tokend_log_level;

/* Opaque to the plugin: where one call's outputs go. Valid only during that call. */
typedef struct tokend_reply tokend_reply;

/* Opaque to the host: one open store instance. */
typedef struct tokend_store tokend_store;

/*
 * Functions the host provides. A pointer to this table is passed to open() and
 * stays valid until close() returns. Every function copies its input before
 * returning, may be called from any thread, and never fails.
 */
typedef struct tokend_host_api {
    uint32_t struct_size; /* sizeof(tokend_host_api) of the host that built it */
    uint32_t abi_version; /* TOKEND_STORE_ABI_VERSION of the host */

    /* get/take: the value found. Call at most once per call. */
    void (*reply_value)(tokend_reply* reply, const void* value, size_t value_len);
    /* list: one key of the page. Returns 0 to go on; non-zero means the host
     * wants no more keys in this page (the plugin then stops and sets the
     * cursor so that the next page starts after the last key it gave). */
    int (*reply_key)(tokend_reply* reply, const void* key, size_t key_len);
    /* list: the opaque cursor that continues after this page. Not calling it
     * (or an empty cursor) means the listing is complete. */
    void (*reply_cursor)(tokend_reply* reply, const void* cursor, size_t cursor_len);
    /* Any call: a human-readable reason for a status other than OK/NOT_FOUND.
     * UTF-8, no secrets, no trailing newline. The last call wins. */
    void (*reply_error)(tokend_reply* reply, const char* message, size_t message_len);
    /* Logging into the host's log. host_ctx is the pointer given to open(). */
    void (*log)(void* host_ctx, tokend_log_level level, const char* message, size_t message_len);

    /* ---- 1.1 ---- */

    /* list_entries: one key of the page and its value. Returns 0 to go on;
     * non-zero means the host wants no more entries in this page (the plugin
     * then stops and sets the cursor so that the next page starts after the
     * last entry it gave), as reply_key does for list. Call it only from inside
     * list_entries: a host calls list_entries only if its table has this slot. */
    int (*reply_entry)(tokend_reply* reply, const void* key, size_t key_len, const void* value,
                       size_t value_len);

    /* ---- 1.3 ---- */

    /* validate_options: one problem with the options. `option` names the
     * top-level option it concerns (its name as the operator wrote it, UTF-8,
     * not NUL-terminated; empty when it concerns none or several), `message`
     * says what is wrong (UTF-8, no secrets, no trailing newline, need not
     * repeat the option's name). Call it once per problem, only from inside
     * validate_options: a host calls validate_options only if its table has
     * this slot. */
    void (*reply_problem)(tokend_reply* reply, const char* option, size_t option_len, const char* message,
                          size_t message_len);
} tokend_host_api;

/*
 * Change callback for TOKEND_STORE_CAP_NOTIFY. Called from any thread with a
 * key borrowed for the duration of the call; it returns quickly and never calls
 * into the store. It reports changes made through other instances (other
 * processes or other opens); a plugin may also report its own instance's
 * changes, and the host tolerates that.
 */
typedef void (*tokend_change_fn)(void* subscriber_ctx, tokend_namespace ns, tokend_change change,
                                 const void* key, size_t key_len);

/*
 * The plugin's function table. Fields are only ever appended; struct_size
 * tells the host which ones exist. A released layout never changes.
 */
typedef struct tokend_store_plugin {
    uint32_t struct_size;    /* sizeof(tokend_store_plugin) as the plugin was compiled */
    uint32_t abi_version;    /* TOKEND_STORE_ABI_VERSION the plugin was compiled against */
    const char* name;        /* short name, NUL-terminated, e.g. "yaml" */
    const char* version;     /* the plugin's own version, NUL-terminated */
    uint64_t capabilities;   /* TOKEND_STORE_CAP_* bits */

    /*
     * Opens an instance. config_json is a UTF-8 JSON object (not NUL-terminated)
     * holding the plugin's options exactly as the operator wrote them; the plugin
     * rejects unknown options with TOKEND_INVALID and names them. On TOKEND_OK
     * *out is set; on any other status *out is left NULL and nothing needs closing.
     * May take long (connect, load a file). host and host_ctx outlive the instance.
     */
    tokend_status (*open)(const char* config_json, size_t config_len, const tokend_host_api* host,
                          void* host_ctx, tokend_store** out, tokend_reply* reply);

    /* Flushes what was acknowledged (it already is durable) and frees the instance.
     * After close returns, no change callback runs any more. Never fails. */
    void (*close)(tokend_store* store);

    /* Reads a value: reply_value on TOKEND_OK; TOKEND_NOT_FOUND when absent. */
    tokend_status (*get)(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply);

    /* Creates or replaces a value. TOKEND_OK means durable as the backend
     * defines it (the YAML store: fsync'ed; Redis: accepted by the server).
     * A get() running at the same time may already see the new value before
     * put() returns. A failure the plugin detects before the write reached the
     * backend leaves the old value; one whose outcome it cannot know (a network
     * timeout: the server may still apply the write) is TOKEND_UNAVAILABLE all the
     * same: the host reports the write as failed, never as done. */
    tokend_status (*put)(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         const void* value, size_t value_len, tokend_reply* reply);

    /* Deletes a value. Idempotent: deleting a missing key is TOKEND_OK. */
    tokend_status (*del)(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply);

    /* Atomic get-and-delete. Of any number of concurrent takes of one key
     * (across threads, instances and processes sharing the store) exactly one
     * gets TOKEND_OK with reply_value; the others get TOKEND_NOT_FOUND. If the
     * backend fails meanwhile, the would-be winner gets TOKEND_UNAVAILABLE and
     * the key is still there: a take never loses a value silently. */
    tokend_status (*take)(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                          tokend_reply* reply);

    /*
     * Lists keys one page at a time. cursor/cursor_len is empty for the first
     * page, else a cursor this plugin returned. The plugin gives at most `limit`
     * keys (limit >= 1) through reply_key and, unless the listing is complete,
     * the next cursor through reply_cursor. A page may hold fewer keys than
     * limit, even none, without the listing being complete. Every key present
     * during the whole listing is given at least once; keys written or deleted
     * meanwhile may or may not appear. Order is unspecified.
     */
    tokend_status (*list)(tokend_store* store, tokend_namespace ns, const void* cursor,
                          size_t cursor_len, uint32_t limit, tokend_reply* reply);

    /* ---- TOKEND_STORE_CAP_LOCK (all three non-NULL) ---- */

    /*
     * Takes the lease on (ns, key) for ttl_ms milliseconds. On TOKEND_OK,
     * *fencing_token is set to a number greater than every fencing token ever
     * issued for that lease before. TOKEND_CONFLICT if another owner holds it.
     * A lease is not re-entrant: a second acquire by the same instance while
     * it is held is a conflict too. The lease lapses by itself after ttl_ms.
     */
    tokend_status (*lock_acquire)(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint32_t ttl_ms, uint64_t* fencing_token,
                                  tokend_reply* reply);

    /* Leases live beside the values, not among them: a lease on (ns, key) is
     * never returned by get or list and is not released by del or take. */

    /* Releases the lease if fencing_token is still its holder's; otherwise
     * (lapsed, taken over) it does nothing and returns TOKEND_OK. */
    tokend_status (*lock_release)(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint64_t fencing_token, tokend_reply* reply);

    /* put() that succeeds only while fencing_token still holds the lease on
     * (ns, key); otherwise TOKEND_CONFLICT and nothing is written. */
    tokend_status (*put_fenced)(tokend_store* store, tokend_namespace ns, const void* key,
                                size_t key_len, const void* value, size_t value_len,
                                uint64_t fencing_token, tokend_reply* reply);

    /* ---- TOKEND_STORE_CAP_NOTIFY (non-NULL) ---- */

    /* Starts reporting changes to fn until close(). Called at most once per
     * instance, before any other call but after open. */
    tokend_status (*subscribe)(tokend_store* store, tokend_change_fn fn, void* subscriber_ctx,
                               tokend_reply* reply);

    /* ---- 1.1, optional (NULL, or a table that ends before it: not provided) ---- */

    /*
     * list() that gives each key with its value, through reply_entry instead of
     * reply_key: same cursor, limit, paging and completeness rules (cursors are
     * this function's own; the host never mixes them with list's). Each value is
     * one that key held during the listing. A key that is deleted between the
     * plugin's scan and its read is left out, not given with an empty value. The
     * host uses it to load every user at start in few round trips; without it the
     * host lists, then gets each key.
     */
    tokend_status (*list_entries)(tokend_store* store, tokend_namespace ns, const void* cursor,
                                  size_t cursor_len, uint32_t limit, tokend_reply* reply);

    /* ---- 1.2, optional (NULL, or a table that ends before it: not provided) ---- */

    /*
     * Compare-and-put: writes value under (ns, key) only if the key holds
     * exactly the bytes expected/expected_len and, when fencing_token is not
     * NULL, only while *fencing_token still holds the lease on (ns, key). The
     * checks and the write are one atomic step against every other writer of
     * the data (other threads, instances and processes, plain put included): no
     * write may land between the comparison and this write. The checks, in order:
     *   - fencing_token given and no longer the lease's: TOKEND_CONFLICT without
     *     reply_value; nothing written.
     *   - the key is absent: TOKEND_NOT_FOUND (no message); nothing written.
     *   - the key holds other bytes: TOKEND_CONFLICT, and the bytes it holds
     *     through reply_value (exactly once); nothing written.
     *   - else the value is written: TOKEND_OK, durable and reported to
     *     subscribers as put() is.
     * A CONFLICT with a value thus means "changed meanwhile: here is what is
     * there now", one without means "fenced out". A plugin without
     * TOKEND_STORE_CAP_LOCK answers TOKEND_INVALID to a non-NULL fencing_token
     * (the host never passes one). A failure whose outcome the plugin cannot
     * know is TOKEND_UNAVAILABLE, as for put(). The host uses it to commit a
     * refreshed token: another writer's context (one that does not take the
     * lease, such as the Python module tokend replaces) is never overwritten.
     */
    tokend_status (*put_if_equal)(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, const void* expected, size_t expected_len,
                                  const void* value, size_t value_len, const uint64_t* fencing_token,
                                  tokend_reply* reply);

    /* ---- 1.3, optional (NULL, or a table that ends before it: not provided) ---- */

    /*
     * Checks options as open() would, without opening the store: it creates,
     * writes, locks and connects to nothing (it may read files the options
     * name, and look at directories). config_json is as for open(). Every
     * problem found is reported through host->reply_problem, all of them, not
     * only the first: an unknown option (named), a value of the wrong type or
     * range, a file that cannot be read or parsed, a directory that does not
     * exist or cannot be written. Returns TOKEND_OK when it found none (and
     * reported none), TOKEND_INVALID when it reported at least one; any other
     * status (with reply_error) means the check itself could not run. It needs
     * no instance: host and host_ctx are valid only during the call. It may be
     * called from any thread, at any time, also while instances opened with
     * the same or other options are in use (tokend checks a new configuration
     * before a reload applies it, beside the store it runs with): it must not
     * disturb them. A store that cannot be checked without connecting leaves
     * what only a connection can tell to open().
     */
    tokend_status (*validate_options)(const char* config_json, size_t config_len, const tokend_host_api* host,
                                      void* host_ctx, tokend_reply* reply);

    /* ---- 1.4, optional (NULL, or a table that ends before it: not provided) ---- */

    /*
     * Says at once, without blocking, whether a take of (ns, key) would find
     * nothing now: TOKEND_NOT_FOUND when the key is absent and nothing in
     * progress (a write still being made durable) could make a take find it
     * or fail; TOKEND_OK when it is there; any other status (no reply_error
     * needed) when the plugin cannot tell without blocking. Nothing changes
     * and no reply function is called. Only a store whose answer lives in
     * the process (in memory) should provide it: unlike every other function,
     * the host calls it on its event-loop thread, and concurrently with any
     * other call of the instance even without TOKEND_STORE_CAP_THREAD_SAFE, so
     * it must not do I/O, wait for it, or take a lock that is held across I/O.
     * The host uses it to answer a redirect whose flow is unknown or used
     * without handing it to a worker thread; for anything but NOT_FOUND it
     * calls take as before, so take alone stays the one atomic step that
     * decides which of several redirects of one flow wins.
     */
    tokend_status (*absent_now)(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len);
} tokend_store_plugin;

/* The smallest table a 1.x host accepts: everything up to and including list. */
#define TOKEND_STORE_PLUGIN_MIN_SIZE \
    (offsetof(tokend_store_plugin, list) + sizeof(((tokend_store_plugin*)0)->list))

/*
 * The two symbols every plugin exports (and, ideally, nothing else):
 *   TOKEND_EXPORT uint32_t tokend_store_abi_version(void);  returns TOKEND_STORE_ABI_VERSION
 *   TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void);
 */
typedef uint32_t (*tokend_store_abi_version_fn)(void);
typedef const tokend_store_plugin* (*tokend_store_plugin_entry_fn)(void);

#define TOKEND_STORE_ABI_VERSION_SYMBOL "tokend_store_abi_version"
#define TOKEND_STORE_PLUGIN_SYMBOL "tokend_store_plugin_entry"

#ifdef __cplusplus
}
#endif

#endif /* TOKEND_STORE_H */
