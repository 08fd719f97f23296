/* An LD_PRELOAD shim that makes chosen write, writev, fdatasync, fsync and rename
 * calls fail with a chosen errno, for the durability tests of the yaml store
 * (issue 13, item 15). It is a test tool: it is never installed.
 *
 * Control: TOKEND_FAULT_CONTROL names a control file, read again at every
 * intercepted call (so a test changes the rules while the process runs; a missing
 * or empty file injects nothing). One rule a line, '#' starts a comment:
 *
 *     CALL ERRNO SKIP COUNT PATH
 *
 *   CALL   write (covers write and writev), fdatasync, fsync or rename
 *   ERRNO  EIO, ENOSPC, EDQUOT, EROFS or a number
 *   SKIP   matching calls to let through first
 *   COUNT  how many matching calls to fail after those; 0 = every one
 *   PATH   the call matches only when the file's path (from /proc/self/fd), or
 *          rename's source or target, contains this text; "*" matches any path
 *
 * Counting starts when the file's content changes: rewriting the same rules does
 * not re-arm them (change a comment line to do that). Every injected failure is
 * appended to the control file's name + ".log" as "CALL ERRNO PATH", so a test can
 * tell that its fault really happened. Without TOKEND_FAULT_CONTROL every call
 * passes straight through.
 *
 * Under AddressSanitizer the ASan runtime must come first in LD_PRELOAD
 * ("libasan.so:this.so"): its interceptors then call ours through RTLD_NEXT. The
 * shim itself is built without sanitizers (CMake), so it does not drag the runtime
 * in behind it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum call_kind { CALL_WRITE, CALL_FDATASYNC, CALL_FSYNC, CALL_RENAME, CALL_KINDS };
static const char* const call_names[CALL_KINDS] = {"write", "fdatasync", "fsync", "rename"};

#define MAX_RULES 16
#define MAX_CONTROL 4096

struct rule {
    enum call_kind call;
    int error;
    long skip;   /* matching calls still to let through */
    long count;  /* failures still to inject; -1: without end */
    char path[PATH_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char control_text[MAX_CONTROL + 1];
static size_t control_size = (size_t)-1; /* nothing read yet */
static struct rule rules[MAX_RULES];
static int rule_count;

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef int (*sync_fn)(int);
typedef int (*rename_fn)(const char*, const char*);

static void* real(const char* name) {
    void* function = dlsym(RTLD_NEXT, name);
    if (function == NULL) abort(); /* cannot happen with glibc; never pretend to succeed */
    return function;
}

/* Marks the process for tests that must know the shim is in place. */
int tokend_fault_shim_loaded(void) { return 1; }

static int parse_errno(const char* name) {
    if (strcmp(name, "EIO") == 0) return EIO;
    if (strcmp(name, "ENOSPC") == 0) return ENOSPC;
    if (strcmp(name, "EDQUOT") == 0) return EDQUOT;
    if (strcmp(name, "EROFS") == 0) return EROFS;
    return atoi(name);
}

/* Tokenizes text in place. */
static void parse_rules(char* text) {
    rule_count = 0;
    char* save = NULL;
    for (char* line = strtok_r(text, "\n", &save); line != NULL && rule_count < MAX_RULES;
         line = strtok_r(NULL, "\n", &save)) {
        char call[32], error[32];
        long skip = 0, count = 0;
        struct rule* rule = &rules[rule_count];
        if (line[0] == '#') continue;
        if (sscanf(line, "%31s %31s %ld %ld %4095s", call, error, &skip, &count, rule->path) != 5) {
            continue;
        }
        int kind = 0;
        while (kind < CALL_KINDS && strcmp(call, call_names[kind]) != 0) ++kind;
        if (kind == CALL_KINDS) continue;
        rule->call = (enum call_kind)kind;
        rule->error = parse_errno(error);
        rule->skip = skip;
        rule->count = count == 0 ? -1 : count;
        if (rule->error > 0) ++rule_count;
    }
}

/* Lock held: re-reads the control file; new content means new rules and counts. */
static void refresh_rules(const char* control) {
    static char fresh[MAX_CONTROL + 1];
    size_t size = 0;
    int fd = open(control, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got;
        while (size < MAX_CONTROL && (got = read(fd, fresh + size, MAX_CONTROL - size)) > 0) {
            size += (size_t)got;
        }
        close(fd);
    }
    fresh[size] = '\0';
    if (size == control_size && memcmp(fresh, control_text, size) == 0) return;
    memcpy(control_text, fresh, size + 1); /* kept untouched, to compare with next time */
    control_size = size;
    parse_rules(fresh);
}

static int matches(const struct rule* rule, const char* path, const char* other) {
    if (strcmp(rule->path, "*") == 0) return 1;
    return (path != NULL && strstr(path, rule->path) != NULL) ||
           (other != NULL && strstr(other, rule->path) != NULL);
}

static void record(const char* control, enum call_kind call, int error, const char* path) {
    char log_path[PATH_MAX + 8];
    char line[PATH_MAX + 64];
    snprintf(log_path, sizeof log_path, "%s.log", control);
    const int length = snprintf(line, sizeof line, "%s %d %s\n", call_names[call], error, path);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ((write_fn)real("write"))(fd, line, (size_t)length);
    close(fd);
}

/* The errno to fail this call with, or 0 to let it through. */
static int injected(enum call_kind call, int fd, const char* from, const char* to) {
    const char* control = getenv("TOKEND_FAULT_CONTROL");
    if (control == NULL || control[0] == '\0') return 0;
    const int saved_errno = errno;
    char fd_path[PATH_MAX] = "";
    if (fd >= 0) {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        const ssize_t length = readlink(link, fd_path, sizeof fd_path - 1);
        fd_path[length > 0 ? length : 0] = '\0';
    }
    const char* path = fd >= 0 ? fd_path : from;
    int error = 0;
    pthread_mutex_lock(&lock);
    refresh_rules(control);
    for (int i = 0; i < rule_count && error == 0; ++i) {
        struct rule* rule = &rules[i];
        if (rule->call != call || rule->count == 0 || !matches(rule, path, to)) continue;
        if (rule->skip > 0) {
            --rule->skip;
            continue;
        }
        if (rule->count > 0) --rule->count;
        error = rule->error;
    }
    pthread_mutex_unlock(&lock);
    if (error != 0) record(control, call, error, path != NULL ? path : "");
    errno = saved_errno;
    return error;
}

ssize_t write(int fd, const void* buffer, size_t size) {
    static write_fn next;
    if (next == NULL) next = (write_fn)real("write");
    const int error = injected(CALL_WRITE, fd, NULL, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return next(fd, buffer, size);
}

ssize_t writev(int fd, const struct iovec* vector, int count) {
    static writev_fn next;
    if (next == NULL) next = (writev_fn)real("writev");
    const int error = injected(CALL_WRITE, fd, NULL, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return next(fd, vector, count);
}

int fdatasync(int fd) {
    static sync_fn next;
    if (next == NULL) next = (sync_fn)real("fdatasync");
    const int error = injected(CALL_FDATASYNC, fd, NULL, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return next(fd);
}

int fsync(int fd) {
    static sync_fn next;
    if (next == NULL) next = (sync_fn)real("fsync");
    const int error = injected(CALL_FSYNC, fd, NULL, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return next(fd);
}

int rename(const char* from, const char* to) {
    static rename_fn next;
    if (next == NULL) next = (rename_fn)real("rename");
    const int error = injected(CALL_RENAME, -1, from, to);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return next(from, to);
}
