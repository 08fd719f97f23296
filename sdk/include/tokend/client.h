/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the tokend authors. Licensed under the Apache License,
 * Version 2.0 (LICENSE at the top of the source tree; on Debian
 * /usr/share/common-licenses/Apache-2.0). Clients may be written against this
 * header, and distributed, under Apache-2.0. */
/*
 * tokend control-socket client, C API (blocking, one connection).
 *
 * The protocol is newline-delimited JSON (docs/protocol.md): each request is
 * one JSON object on one line, each response one line, in request order. This
 * library does the transport: connecting, writing whole lines, reading whole
 * lines with a size limit, timeouts. Building and parsing JSON is the caller's
 * (any JSON library will do).
 *
 * Ownership: the library allocates only its own handle and read buffer. A
 * line returned by tokend_client_read_line() points into that buffer and stays
 * valid until the next call on the same handle; copy it to keep it.
 *
 * Threading: a handle is used by one thread at a time. Different handles are
 * independent.
 *
 * Pipelining: send several requests, then read the same number of responses.
 *
 * Errors: functions return 0 on success or a negative errno-style code
 * (-ETIMEDOUT, -ECONNRESET, -EMSGSIZE for a line over the limit, ...);
 * tokend_client_error() describes the last error in words.
 */
#ifndef TOKEND_CLIENT_H
#define TOKEND_CLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tokend_client tokend_client;

/* The default socket when neither the caller nor $TOKEND_SOCKET names one. */
#define TOKEND_CLIENT_DEFAULT_SOCKET "/run/tokend/tokend.sock"

/*
 * Connects to socket_path (NULL: $TOKEND_SOCKET, else the default). timeout_ms
 * bounds every later read and write (0: wait forever). max_line is the largest
 * response line accepted (0: 16 MiB). Returns NULL on failure and, if errbuf is
 * given, a reason there.
 */
tokend_client* tokend_client_connect(const char* socket_path, int timeout_ms, size_t max_line, char* errbuf,
                                     size_t errbuf_len);

/* Closes the connection and frees the handle. NULL is allowed. */
void tokend_client_close(tokend_client* client);

/* Sends one request: `json` must be one JSON object without a newline; the
 * newline is added here. */
int tokend_client_send(tokend_client* client, const char* json, size_t json_len);

/* Reads the next line (a response, or an event after `watch`), without its
 * newline, NUL-terminated. *line stays valid until the next call on client. */
int tokend_client_read_line(tokend_client* client, const char** line, size_t* line_len);

/* send + read_line. */
int tokend_client_call(tokend_client* client, const char* json, size_t json_len, const char** response,
                       size_t* response_len);

/* The last error in words (never NULL). */
const char* tokend_client_error(const tokend_client* client);

/* The path this client connected to. */
const char* tokend_client_socket_path(const tokend_client* client);

#ifdef __cplusplus
}
#endif

#endif /* TOKEND_CLIENT_H */
