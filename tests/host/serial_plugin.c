/* A plugin that is not thread-safe and detects being entered by two threads at
 * once: every call fails with TOKEND_INTERNAL if another call is in flight.
 * The host must serialize calls to it. get answers OK without a value, which
 * the host must turn into an error rather than trust. */
#include <tokend/store.h>

#include <stdatomic.h>
#include <time.h>

static atomic_int in_flight;
static const tokend_host_api* host;

static tokend_status enter_and_leave(tokend_reply* r) {
    if (atomic_fetch_add(&in_flight, 1) != 0) {
        atomic_fetch_sub(&in_flight, 1);
        host->reply_error(r, "entered concurrently", 20);
        return TOKEND_INTERNAL;
    }
    struct timespec pause = {0, 200000}; /* 0.2 ms, long enough for overlaps to show */
    nanosleep(&pause, NULL);
    atomic_fetch_sub(&in_flight, 1);
    return TOKEND_OK;
}

static tokend_status s_open(const char* c, size_t cl, const tokend_host_api* h, void* hc,
                            tokend_store** out, tokend_reply* r) {
    (void)c; (void)cl; (void)hc; (void)r;
    static int instance;
    host = h;
    *out = (tokend_store*)&instance;
    return TOKEND_OK;
}
static void s_close(tokend_store* s) { (void)s; }
static tokend_status s_get(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl;
    return enter_and_leave(r); /* OK, but no reply_value: a plugin bug */
}
static tokend_status s_put(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           const void* v, size_t vl, tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl; (void)v; (void)vl;
    return enter_and_leave(r);
}
static tokend_status s_del(tokend_store* s, tokend_namespace ns, const void* k, size_t kl,
                           tokend_reply* r) {
    (void)s; (void)ns; (void)k; (void)kl;
    return enter_and_leave(r);
}
static tokend_status s_list(tokend_store* s, tokend_namespace ns, const void* c, size_t cl,
                            uint32_t limit, tokend_reply* r) {
    (void)s; (void)ns; (void)c; (void)cl; (void)limit;
    /* A buggy plugin: a cursor that never moves, and no keys. */
    host->reply_cursor(r, "same", 4);
    return TOKEND_OK;
}

static const tokend_store_plugin table = {
    sizeof(tokend_store_plugin), TOKEND_STORE_ABI_VERSION, "serial", "0", 0,
    s_open, s_close, s_get, s_put, s_del, s_get, s_list, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }
TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &table; }
