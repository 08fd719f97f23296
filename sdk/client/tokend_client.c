/* tokend control-socket client: transport only (see tokend/client.h). */
#define _GNU_SOURCE
#include <tokend/client.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE ((size_t)16 << 20)

struct tokend_client {
    int fd;
    int timeout_ms;
    size_t max_line;
    char* buffer;      /* bytes read and not yet returned, plus the last line */
    size_t capacity;
    size_t start;      /* first unread byte */
    size_t end;        /* one past the last read byte */
    char error[256];
    char path[sizeof(((struct sockaddr_un*)0)->sun_path)];
};

static int fail(tokend_client* client, int code, const char* what) {
    snprintf(client->error, sizeof client->error, "%s: %s", what, strerror(-code));
    return code;
}

/* Waits until fd is ready for `events` or the timeout passes. */
static int wait_ready(tokend_client* client, short events) {
    struct pollfd item = {client->fd, events, 0};
    for (;;) {
        const int ready = poll(&item, 1, client->timeout_ms > 0 ? client->timeout_ms : -1);
        if (ready > 0) return 0;
        if (ready == 0) return -ETIMEDOUT;
        if (errno != EINTR) return -errno;
    }
}

tokend_client* tokend_client_connect(const char* socket_path, int timeout_ms, size_t max_line, char* errbuf,
                                     size_t errbuf_len) {
    if (socket_path == NULL) socket_path = getenv("TOKEND_SOCKET");
    if (socket_path == NULL || *socket_path == '\0') socket_path = TOKEND_CLIENT_DEFAULT_SOCKET;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(socket_path) >= sizeof address.sun_path) {
        if (errbuf) snprintf(errbuf, errbuf_len, "socket path too long: %s", socket_path);
        return NULL;
    }
    memcpy(address.sun_path, socket_path, strlen(socket_path));

    tokend_client* client = calloc(1, sizeof *client);
    if (client == NULL) {
        if (errbuf) snprintf(errbuf, errbuf_len, "out of memory");
        return NULL;
    }
    client->timeout_ms = timeout_ms;
    client->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    memcpy(client->path, socket_path, strlen(socket_path) + 1);
    client->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client->fd < 0 || connect(client->fd, (struct sockaddr*)&address, sizeof address) != 0) {
        if (errbuf) snprintf(errbuf, errbuf_len, "cannot connect to %s: %s", socket_path, strerror(errno));
        if (client->fd >= 0) close(client->fd);
        free(client);
        return NULL;
    }
    strcpy(client->error, "no error");
    return client;
}

void tokend_client_close(tokend_client* client) {
    if (client == NULL) return;
    if (client->fd >= 0) close(client->fd);
    free(client->buffer);
    free(client);
}

int tokend_client_send(tokend_client* client, const char* json, size_t json_len) {
    if (memchr(json, '\n', json_len) != NULL) return fail(client, -EINVAL, "request contains a newline");
    struct iovec parts[2] = {{(void*)json, json_len}, {"\n", 1}};
    size_t total = json_len + 1, sent = 0;
    while (sent < total) {
        struct msghdr message;
        memset(&message, 0, sizeof message);
        struct iovec rest[2];
        int count = 0;
        size_t skip = sent;
        for (int i = 0; i < 2; ++i) {
            if (skip >= parts[i].iov_len) {
                skip -= parts[i].iov_len;
                continue;
            }
            rest[count].iov_base = (char*)parts[i].iov_base + skip;
            rest[count].iov_len = parts[i].iov_len - skip;
            skip = 0;
            ++count;
        }
        message.msg_iov = rest;
        message.msg_iovlen = (size_t)count;
        const ssize_t wrote = sendmsg(client->fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wrote > 0) {
            sent += (size_t)wrote;
            continue;
        }
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int rc = wait_ready(client, POLLOUT);
            if (rc != 0) return fail(client, rc, "send");
            continue;
        }
        return fail(client, -errno, "send");
    }
    return 0;
}

int tokend_client_read_line(tokend_client* client, const char** line, size_t* line_len) {
    for (;;) {
        char* newline = client->end > client->start
                            ? memchr(client->buffer + client->start, '\n', client->end - client->start)
                            : NULL;
        if (newline != NULL) {
            if ((size_t)(newline - (client->buffer + client->start)) > client->max_line) {
                client->start = (size_t)(newline - client->buffer) + 1; /* drop it, stay in sync */
                return fail(client, -EMSGSIZE, "response line over the limit");
            }
            *newline = '\0';
            *line = client->buffer + client->start;
            *line_len = (size_t)(newline - *line);
            client->start += *line_len + 1;
            return 0;
        }
        if (client->end - client->start > client->max_line) {
            return fail(client, -EMSGSIZE, "response line over the limit");
        }
        /* Make room: move unread bytes to the front, grow if still full. */
        if (client->start > 0) {
            memmove(client->buffer, client->buffer + client->start, client->end - client->start);
            client->end -= client->start;
            client->start = 0;
        }
        if (client->capacity - client->end < 4096) {
            const size_t capacity = client->capacity ? client->capacity * 2 : 65536;
            char* grown = realloc(client->buffer, capacity);
            if (grown == NULL) return fail(client, -ENOMEM, "read");
            client->buffer = grown;
            client->capacity = capacity;
        }
        const ssize_t got = recv(client->fd, client->buffer + client->end, client->capacity - client->end - 1,
                                 MSG_DONTWAIT);
        if (got > 0) {
            client->end += (size_t)got;
            continue;
        }
        if (got == 0) return fail(client, -ECONNRESET, "tokend closed the connection");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const int rc = wait_ready(client, POLLIN);
            if (rc != 0) return fail(client, rc, "read");
            continue;
        }
        return fail(client, -errno, "read");
    }
}

int tokend_client_call(tokend_client* client, const char* json, size_t json_len, const char** response,
                       size_t* response_len) {
    const int rc = tokend_client_send(client, json, json_len);
    if (rc != 0) return rc;
    return tokend_client_read_line(client, response, response_len);
}

const char* tokend_client_error(const tokend_client* client) { return client ? client->error : "no client"; }

const char* tokend_client_socket_path(const tokend_client* client) { return client->path; }
