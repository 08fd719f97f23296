// TLS for the redis store (rediss://). Debian's hiredis 0.14 has no TLS, so the
// store keeps hiredis for what it does well (connecting the socket with its
// timeouts, the RESP reader, the command formatter) and runs OpenSSL over the
// connected socket for the bytes in between (connection.cpp). TlsClient holds
// the one SSL_CTX the pool and the subscriber share: trust anchors, the client
// certificate, the verification policy. docs/redis.md documents the options.
#pragma once

#include "status.h"

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace tokend::redis_store {

struct TlsOptions {
    std::string ca_file;      // PEM bundle of trusted CAs; with ca_dir empty too: the system's store
    std::string ca_dir;       // a c_rehash'ed directory of CAs
    std::string cert_file;    // client certificate chain (PEM), for mutual TLS
    std::string key_file;     // its private key (PEM)
    std::string server_name;  // the name checked in the certificate and sent as SNI; "" = the host
    bool skip_verify = false; // tls_skip_verify: no certificate or name check (logged at every start)
};

class TlsClient {
public:
    // Loads the CAs and the client certificate now: a missing or unreadable file,
    // or a key that does not match the certificate, is INVALID naming the option.
    static Status create(const TlsOptions& options, std::shared_ptr<const TlsClient>* out);
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    // A new SSL on fd that checks the certificate is valid for `host` (an IP
    // address literal is matched against the IP SANs, a name against the DNS
    // names) and sends SNI for a name. *client_cert_requested becomes true if
    // the server asks for a client certificate and none is configured (its
    // refusal then comes as a reset, after the handshake in TLS 1.3, and the
    // caller says why). nullptr only when out of memory.
    SSL* new_session(int fd, const std::string& host, bool* client_cert_requested) const;

    const TlsOptions& options() const { return options_; }

private:
    TlsClient(SSL_CTX* context, TlsOptions options) : context_(context), options_(std::move(options)) {}
    SSL_CTX* context_;
    TlsOptions options_;
};

// What OpenSSL says went wrong with ssl after a call returned `result`: the
// certificate verification reason if the check failed, else the first queued
// error, else errno's text. Clears OpenSSL's error queue of this thread.
std::string tls_failure(SSL* ssl, int result);

}  // namespace tokend::redis_store
