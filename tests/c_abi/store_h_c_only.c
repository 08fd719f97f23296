/* Compiled as C11, not C++: the public header must be plain C. It also freezes
 * the released 1.0, 1.1, 1.2 and 1.3 layouts on LP64: moving a field breaks every plugin built
 * before, so these asserts must only ever gain lines, never change. */
#include <tokend/store.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(offsetof(tokend_store_plugin, struct_size) == 0, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, abi_version) == 4, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, name) == 8, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, version) == 16, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, capabilities) == 24, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, open) == 32, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, close) == 40, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, get) == 48, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, put) == 56, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, del) == 64, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, take) == 72, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, list) == 80, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, lock_acquire) == 88, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, lock_release) == 96, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, put_fenced) == 104, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, subscribe) == 112, "layout 1.0");
/* A 1.0 table ends after subscribe: 1.0 plugins set struct_size 120. */
_Static_assert(offsetof(tokend_store_plugin, subscribe) + sizeof(void (*)(void)) == 120, "layout 1.0");
_Static_assert(offsetof(tokend_store_plugin, list_entries) == 120, "layout 1.1");
/* A 1.1 table ends after list_entries: 1.1 plugins set struct_size 128. */
_Static_assert(offsetof(tokend_store_plugin, list_entries) + sizeof(void (*)(void)) == 128, "layout 1.1");
_Static_assert(offsetof(tokend_store_plugin, put_if_equal) == 128, "layout 1.2");
/* A 1.2 table ends after put_if_equal: 1.2 plugins set struct_size 136. */
_Static_assert(offsetof(tokend_store_plugin, put_if_equal) + sizeof(void (*)(void)) == 136, "layout 1.2");
_Static_assert(offsetof(tokend_store_plugin, validate_options) == 136, "layout 1.3");
/* 1.4 appends absent_now: the 1.3 layout ends where it starts. */
_Static_assert(offsetof(tokend_store_plugin, validate_options) + sizeof(void (*)(void)) == 144, "layout 1.3");
_Static_assert(offsetof(tokend_store_plugin, absent_now) == 144, "layout 1.4");
_Static_assert(sizeof(tokend_store_plugin) == 152, "layout 1.4");
_Static_assert(TOKEND_STORE_PLUGIN_MIN_SIZE == 88, "1.0 minimum");

_Static_assert(offsetof(tokend_host_api, struct_size) == 0, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, abi_version) == 4, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, reply_value) == 8, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, reply_key) == 16, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, reply_cursor) == 24, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, reply_error) == 32, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, log) == 40, "layout 1.0");
_Static_assert(offsetof(tokend_host_api, reply_entry) == 48, "layout 1.1");
/* A 1.1/1.2 host table ends after reply_entry. */
_Static_assert(offsetof(tokend_host_api, reply_entry) + sizeof(void (*)(void)) == 56, "layout 1.1");
_Static_assert(offsetof(tokend_host_api, reply_problem) == 56, "layout 1.3");
_Static_assert(sizeof(tokend_host_api) == 64, "layout 1.3");
#endif

_Static_assert(TOKEND_OK == 0 && TOKEND_NOT_FOUND == 1 && TOKEND_UNAVAILABLE == 2 &&
                   TOKEND_CONFLICT == 3 && TOKEND_INVALID == 4 && TOKEND_CORRUPT == 5 &&
                   TOKEND_INTERNAL == 6,
               "status values are part of the ABI");
_Static_assert(TOKEND_NS_USER == 0 && TOKEND_NS_FLOW == 1, "namespace values are part of the ABI");
_Static_assert(TOKEND_STORE_ABI_VERSION == 0x00010004u, "this header is ABI 1.4");

int main(void) {
    /* The entry symbol names are part of the ABI too. */
    if (strcmp(TOKEND_STORE_ABI_VERSION_SYMBOL, "tokend_store_abi_version") != 0 ||
        strcmp(TOKEND_STORE_PLUGIN_SYMBOL, "tokend_store_plugin_entry") != 0) {
        fprintf(stderr, "entry symbol names changed\n");
        return 1;
    }
    printf("store.h compiles as C; ABI %u.%u\n", TOKEND_STORE_ABI_MAJOR, TOKEND_STORE_ABI_MINOR);
    return 0;
}
