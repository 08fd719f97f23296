/*
 * example_store.c: a complete tokend store plugin in plain C11, written to be
 * read. It keeps everything in memory (nothing survives a restart), so it is
 * no use in production, but it is correct: it passes tokend-store-conformance.
 * Copy it as the starting point of a real plugin.
 *
 * What it shows, in order:
 *   1. the data structure: per namespace, an array of entries sorted by key;
 *   2. open(): parsing options (here: refusing all of them) and reporting errors;
 *   3. get/put/del/take: borrowed inputs, replies that the host copies, every
 *      allocation checked, the store unchanged when an allocation fails;
 *   4. list(): a cursor that stays correct when keys come and go between pages;
 *   5. the function table and the only two exported symbols.
 *
 * Threading: this plugin declares no capabilities. Without
 * TOKEND_STORE_CAP_THREAD_SAFE the host never calls into one instance from two
 * threads at once, so the instance needs no lock. Instances share nothing (no
 * global mutable state), and the host may use different instances
 * concurrently, which is therefore safe too.
 *
 * Build: see README.md beside this file (pkg-config tokend-store).
 */
#include <tokend/store.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. Data: sorted arrays of entries -------------------------------------- */

/* One key and its value. Both live in one allocation, key bytes first, so an
 * entry is allocated and freed in one step. Keys and values are bytes with a
 * length, never NUL-terminated strings: they may hold NUL bytes. */
typedef struct entry {
    unsigned char* bytes; /* key_len bytes of key, then value_len bytes of value */
    size_t key_len;
    size_t value_len;
} entry;

/* The keys of one namespace, sorted by key (bytewise, shorter first on a tie).
 * Sorted order makes lookups a binary search and, more importantly, gives list()
 * a cursor that does not break when keys are added or removed (see section 4). */
typedef struct key_space {
    entry* entries;
    size_t count;
    size_t capacity;
} key_space;

/* The opaque tokend_store of store.h is ours to define: the host only ever holds
 * a pointer to it and gives it back to us. */
struct tokend_store {
    const tokend_host_api* host; /* valid until close() returns */
    void* host_ctx;              /* given back to host->log */
    key_space spaces[2];         /* indexed by tokend_namespace */
};

/* Orders two keys. memcmp must not be given a NULL pointer even for zero bytes,
 * hence the guard (the host may pass NULL with length 0). */
static int compare_keys(const void* a, size_t a_len, const void* b, size_t b_len) {
    const size_t common = a_len < b_len ? a_len : b_len;
    const int order = common > 0 ? memcmp(a, b, common) : 0;
    if (order != 0) return order;
    return (a_len > b_len) - (a_len < b_len);
}

/* The index of the first entry whose key is >= key (or > key when `after` is
 * non-zero): the classic lower/upper bound binary search. */
static size_t find_index(const key_space* space, const void* key, size_t key_len, int after) {
    size_t low = 0, high = space->count;
    while (low < high) {
        const size_t middle = low + (high - low) / 2;
        const entry* candidate = &space->entries[middle];
        const int order = compare_keys(candidate->bytes, candidate->key_len, key, key_len);
        if (order < 0 || (after && order == 0)) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

/* The entry with exactly this key, or NULL. *index is where it is (or would go). */
static entry* find_entry(key_space* space, const void* key, size_t key_len, size_t* index) {
    const size_t at = find_index(space, key, key_len, 0);
    *index = at;
    if (at < space->count &&
        compare_keys(space->entries[at].bytes, space->entries[at].key_len, key, key_len) == 0) {
        return &space->entries[at];
    }
    return NULL;
}

/* Allocates key+value in one block. Returns NULL when out of memory or when the
 * sizes would overflow. Allocates at least one byte: malloc(0) may return NULL,
 * which we could not tell from a failure. */
static unsigned char* make_bytes(const void* key, size_t key_len, const void* value, size_t value_len) {
    if (value_len > SIZE_MAX - 1 - key_len) return NULL;
    unsigned char* bytes = malloc(key_len + value_len + 1);
    if (bytes == NULL) return NULL;
    if (key_len > 0) memcpy(bytes, key, key_len);
    if (value_len > 0) memcpy(bytes + key_len, value, value_len);
    return bytes;
}

/* Makes room for one more entry. Returns 0 when out of memory (nothing changed). */
static int reserve_one_more(key_space* space) {
    if (space->count < space->capacity) return 1;
    const size_t capacity = space->capacity == 0 ? 16 : space->capacity * 2;
    if (capacity < space->capacity || capacity > SIZE_MAX / sizeof(entry)) return 0;
    entry* grown = realloc(space->entries, capacity * sizeof(entry));
    if (grown == NULL) return 0; /* the old array is still valid */
    space->entries = grown;
    space->capacity = capacity;
    return 1;
}

static void remove_at(key_space* space, size_t index) {
    free(space->entries[index].bytes);
    memmove(&space->entries[index], &space->entries[index + 1],
            (space->count - index - 1) * sizeof(entry));
    space->count--;
}

/* ---- Small helpers for errors --------------------------------------------------- */

/* Every status other than OK and NOT_FOUND should come with a reason. The reason
 * goes to operators' logs: it must never contain a value (values hold OAuth
 * tokens). Keys are user ids and may be named, but there is rarely a need. */
static tokend_status fail(const tokend_host_api* host, tokend_reply* reply, tokend_status status,
                          const char* message) {
    host->reply_error(reply, message, strlen(message));
    return status;
}

/* The host only passes the two namespaces of store.h, but a plugin should not
 * index an array with a number it has not checked. */
static key_space* space_of(tokend_store* store, tokend_namespace ns) {
    if (ns != TOKEND_NS_USER && ns != TOKEND_NS_FLOW) return NULL;
    return &store->spaces[ns];
}

/* ---- 2. open and close ----------------------------------------------------------- */

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/*
 * This plugin takes no options, so the only acceptable config is an empty JSON
 * object. A real plugin parses the object with a JSON library (jansson, cJSON,
 * ...) and must reject every option it does not know with TOKEND_INVALID, naming
 * it: a typo in the operator's file should stop tokend at start, not be ignored.
 *
 * Fills `name` with the first option's name (for the error message) and returns
 * 1 for "{}", 0 for an object with options, -1 for something that is not an object.
 */
static int read_options(const char* json, size_t len, char* name, size_t name_size) {
    size_t at = 0;
    while (at < len && is_json_space(json[at])) at++;
    if (at == len || json[at] != '{') return -1;
    at++;
    while (at < len && is_json_space(json[at])) at++;
    if (at < len && json[at] == '}') {
        for (at++; at < len; at++) {
            if (!is_json_space(json[at])) return -1; /* text after the object */
        }
        return 1;
    }
    /* Copy the first member's name, printable ASCII only: it goes into a log line. */
    size_t used = 0;
    if (at < len && json[at] == '"') {
        for (at++; at < len && json[at] != '"' && used + 1 < name_size; at++) {
            if (json[at] == '\\' && at + 1 < len) at++;
            name[used++] = (json[at] >= 0x20 && json[at] < 0x7f) ? json[at] : '?';
        }
    }
    name[used] = '\0';
    return 0;
}

static tokend_status example_open(const char* config_json, size_t config_len,
                                  const tokend_host_api* host, void* host_ctx, tokend_store** out,
                                  tokend_reply* reply) {
    /* On failure *out must stay NULL: the host then has nothing to close. */
    *out = NULL;

    char option[64];
    const int options = read_options(config_json, config_len, option, sizeof option);
    if (options < 0) return fail(host, reply, TOKEND_INVALID, "example store: options must be a JSON object");
    if (options == 0) {
        /* Build "example store: unknown option 'x' (it takes none)" without snprintf's
         * truncation warnings: the parts have known maximum sizes. */
        char message[sizeof option + 64] = "example store: unknown option '";
        strcat(message, option);
        strcat(message, "' (it takes none)");
        return fail(host, reply, TOKEND_INVALID, message);
    }

    /* calloc: every array starts empty (NULL, 0, 0). */
    tokend_store* store = calloc(1, sizeof *store);
    if (store == NULL) return fail(host, reply, TOKEND_INTERNAL, "example store: out of memory");
    store->host = host;
    store->host_ctx = host_ctx;

    /* Logging goes through the host, into tokend's log. Say what happens, and never
     * a value. */
    static const char opened[] = "example store opened: in memory, nothing survives a restart";
    host->log(host_ctx, TOKEND_LOG_INFO, opened, sizeof opened - 1);
    *out = store;
    return TOKEND_OK;
}

/* close() never fails and frees everything. The host calls it exactly once per
 * successful open, with no other call in flight. */
static void example_close(tokend_store* store) {
    for (size_t ns = 0; ns < 2; ns++) {
        key_space* space = &store->spaces[ns];
        for (size_t i = 0; i < space->count; i++) free(space->entries[i].bytes);
        free(space->entries);
    }
    free(store);
}

/* ---- 3. get, put, del, take ---------------------------------------------------- */

/* key and value are borrowed: valid only during the call, so we copy what we keep.
 * reply_value copies the value before it returns, so we hand over our own bytes. */
static tokend_status example_get(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, tokend_reply* reply) {
    key_space* space = space_of(store, ns);
    if (space == NULL) return fail(store->host, reply, TOKEND_INVALID, "example store: unknown namespace");
    size_t index;
    const entry* found = find_entry(space, key, key_len, &index);
    /* A missing key is a normal answer, not an error: no message. */
    if (found == NULL) return TOKEND_NOT_FOUND;
    store->host->reply_value(reply, found->bytes + found->key_len, found->value_len);
    return TOKEND_OK;
}

/* Creates or replaces. Everything that can fail (allocation) happens before the
 * store is changed, so a failed put leaves the old value in place. */
static tokend_status example_put(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, const void* value, size_t value_len,
                                 tokend_reply* reply) {
    key_space* space = space_of(store, ns);
    if (space == NULL) return fail(store->host, reply, TOKEND_INVALID, "example store: unknown namespace");
    unsigned char* bytes = make_bytes(key, key_len, value, value_len);
    if (bytes == NULL) return fail(store->host, reply, TOKEND_INTERNAL, "example store: out of memory");

    size_t index;
    entry* found = find_entry(space, key, key_len, &index);
    if (found != NULL) {
        free(found->bytes);
        found->bytes = bytes;
        found->value_len = value_len;
        return TOKEND_OK;
    }
    if (!reserve_one_more(space)) {
        free(bytes);
        return fail(store->host, reply, TOKEND_INTERNAL, "example store: out of memory");
    }
    /* Open a gap at `index` to keep the array sorted. */
    memmove(&space->entries[index + 1], &space->entries[index], (space->count - index) * sizeof(entry));
    space->entries[index].bytes = bytes;
    space->entries[index].key_len = key_len;
    space->entries[index].value_len = value_len;
    space->count++;
    /* A durable store returns OK only once the write would survive a crash
     * (fsync, or the server's acknowledgement). Memory has nothing to wait for. */
    return TOKEND_OK;
}

/* Deleting what is not there is not an error: tokend may retry a delete whose
 * first attempt succeeded but whose answer was lost. */
static tokend_status example_del(tokend_store* store, tokend_namespace ns, const void* key,
                                 size_t key_len, tokend_reply* reply) {
    key_space* space = space_of(store, ns);
    if (space == NULL) return fail(store->host, reply, TOKEND_INVALID, "example store: unknown namespace");
    size_t index;
    if (find_entry(space, key, key_len, &index) != NULL) remove_at(space, index);
    return TOKEND_OK;
}

/* Get and delete as one step. tokend redeems an OAuth state with take: two
 * redirects carrying the same state must not both succeed. Because the host
 * serializes calls to this (non-thread-safe) instance, doing both steps inside
 * one call is already atomic. A shared backend needs an atomic primitive
 * instead (Redis GETDEL, SQL DELETE ... RETURNING). */
static tokend_status example_take(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, tokend_reply* reply) {
    key_space* space = space_of(store, ns);
    if (space == NULL) return fail(store->host, reply, TOKEND_INVALID, "example store: unknown namespace");
    size_t index;
    const entry* found = find_entry(space, key, key_len, &index);
    if (found == NULL) return TOKEND_NOT_FOUND;
    /* The host copies the value during reply_value, so freeing it afterwards is fine. */
    store->host->reply_value(reply, found->bytes + found->key_len, found->value_len);
    remove_at(space, index);
    return TOKEND_OK;
}

/* ---- 4. list ------------------------------------------------------------------- */

/*
 * The cursor is the last key given, behind a one-byte tag. Because the array is
 * sorted, the next page simply starts at the first key greater than that one:
 * keys added or deleted between pages cannot make us skip a key that stays (a
 * cursor that were an array index would skip keys after a delete).
 *
 * Why the tag byte: an empty cursor means "the listing is complete", and a key
 * may be empty, so a bare key could not be told apart from the end. It also lets
 * us reject a cursor that is not ours.
 */
#define CURSOR_TAG 'k'

static tokend_status example_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                                  size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    key_space* space = space_of(store, ns);
    if (space == NULL) return fail(store->host, reply, TOKEND_INVALID, "example store: unknown namespace");
    if (limit == 0) return fail(store->host, reply, TOKEND_INVALID, "example store: limit must be at least 1");

    size_t index = 0; /* first page: from the smallest key */
    if (cursor_len > 0) {
        const unsigned char* tagged = cursor;
        if (tagged[0] != CURSOR_TAG) {
            return fail(store->host, reply, TOKEND_INVALID, "example store: not a cursor of this store");
        }
        index = find_index(space, tagged + 1, cursor_len - 1, 1);
    }

    uint32_t given = 0;
    while (index < space->count) {
        const entry* current = &space->entries[index++];
        /* reply_key copies the key. A non-zero answer means the host wants no more
         * keys in this page; the limit means the same. Either way we stop here. */
        const int host_full = store->host->reply_key(reply, current->bytes, current->key_len);
        given++;
        if (host_full || given == limit) {
            if (index < space->count) {
                /* More keys follow: continue after this one. */
                unsigned char* next = malloc(current->key_len + 1);
                if (next == NULL) return fail(store->host, reply, TOKEND_INTERNAL, "example store: out of memory");
                next[0] = CURSOR_TAG;
                if (current->key_len > 0) memcpy(next + 1, current->bytes, current->key_len);
                store->host->reply_cursor(reply, next, current->key_len + 1);
                free(next);
            }
            break;
        }
    }
    /* No reply_cursor call: the listing is complete. */
    return TOKEND_OK;
}

/* ---- 5. The table and the two exported symbols ------------------------------- */

/*
 * Designated initializers name every slot. struct_size records how big the table
 * is as compiled against this header: a newer host reads only what is there, an
 * older one ignores what it does not know. The lock and notify slots are left
 * NULL and their capability bits unset; declaring a bit without its functions
 * makes the host refuse the plugin.
 */
static const tokend_store_plugin example_plugin = {
    .struct_size = sizeof(tokend_store_plugin),
    .abi_version = TOKEND_STORE_ABI_VERSION,
    .name = "example",
    .version = "1.0.0",
    .capabilities = 0, /* not thread-safe: the host serializes calls per instance */
    .open = example_open,
    .close = example_close,
    .get = example_get,
    .put = example_put,
    .del = example_del,
    .take = example_take,
    .list = example_list,
};

/* The host calls this first, before it looks at any struct, and refuses a plugin
 * whose major version differs from its own. */
TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }

/* Returns a static, immutable table that lives until the library is unloaded. */
TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &example_plugin; }
