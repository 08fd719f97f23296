/* A store plugin with exactly one defect, chosen by a BROKEN_* define, so the
 * loader tests can show each is refused with a clear message (Kea's
 * incorrect_version_library idea). Functions do nothing useful: the loader
 * must refuse before calling any of them (except newer_minor, which loads). */
#include <tokend/store.h>

static tokend_status b_open(const char* c, size_t cl, const tokend_host_api* h, void* hc,
                            tokend_store** out, tokend_reply* r) {
    (void)c; (void)cl; (void)h; (void)hc; (void)r;
    static int instance;
    *out = (tokend_store*)&instance;
    return TOKEND_OK;
}
static void b_close(tokend_store* s) { (void)s; }
static tokend_status b_get(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl; (void)r;
    return TOKEND_NOT_FOUND;
}
static tokend_status b_put(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           const void* v, size_t vl, tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl; (void)v; (void)vl; (void)r;
    return TOKEND_OK;
}
static tokend_status b_del(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl; (void)r;
    return TOKEND_OK;
}
static tokend_status b_list(tokend_store* s, tokend_namespace ns, const void* c, size_t cl,
                            uint32_t limit, tokend_reply* r) {
    (void)s; (void)ns; (void)c; (void)cl; (void)limit; (void)r;
    return TOKEND_OK;
}

static tokend_store_plugin table __attribute__((unused)) = {
    sizeof(tokend_store_plugin), TOKEND_STORE_ABI_VERSION, "broken", "0", 0,
    b_open, b_close, b_get, b_put, b_del, b_get /* take */, b_list,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

#if !defined(BROKEN_no_version)
TOKEND_EXPORT uint32_t tokend_store_abi_version(void) {
#if defined(BROKEN_wrong_major)
    return (uint32_t)((TOKEND_STORE_ABI_MAJOR + 1) << 16);
#elif defined(BROKEN_newer_minor)
    return TOKEND_STORE_ABI_VERSION + 7;
#else
    return TOKEND_STORE_ABI_VERSION;
#endif
}
#endif

#if !defined(BROKEN_no_entry)
TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) {
#if defined(BROKEN_null_entry)
    return NULL;
#else
#if defined(BROKEN_small_table)
    table.struct_size = (uint32_t)offsetof(tokend_store_plugin, take);
#elif defined(BROKEN_lock_without_functions)
    table.capabilities = TOKEND_STORE_CAP_LOCK;
#elif defined(BROKEN_newer_minor)
    /* A newer plugin: an unknown capability bit the host must ignore. */
    table.capabilities = UINT64_C(1) << 40;
#endif
    return &table;
#endif
}
#endif
