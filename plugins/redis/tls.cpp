#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

namespace tokend::redis_store {
namespace {

Status invalid(std::string message) { return Status::error(TOKEND_INVALID, std::move(message)); }

// The first error on this thread's OpenSSL queue as text (the queue is emptied).
std::string queued_error() {
    const unsigned long code = ERR_get_error();
    std::string text;
    if (code != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        const char* reason = ERR_reason_error_string(code);
        text = reason != nullptr ? reason : buffer;
    }
    ERR_clear_error();
    return text;
}

bool is_ip_literal(const std::string& host) {
    unsigned char address[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// Called by OpenSSL when the server asks for a client certificate and none is set.
int no_client_certificate(SSL* ssl, X509**, EVP_PKEY**) {
    if (auto* requested = static_cast<bool*>(SSL_get_app_data(ssl))) *requested = true;
    return 0;  // go on without one: the server decides
}

}  // namespace

Status TlsClient::create(const TlsOptions& options, std::shared_ptr<const TlsClient>* out) {
    ERR_clear_error();
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr) return Status::error(TOKEND_INTERNAL, "redis TLS: " + queued_error());
    std::shared_ptr<const TlsClient> client(new TlsClient(context, options));
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    // Reads must come back when a record that is not data (a TLS 1.3 session
    // ticket) was all there was, so the caller's own timeout logic stays in charge.
    SSL_CTX_clear_mode(context, SSL_MODE_AUTO_RETRY);
    if (!options.skip_verify) {
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
        if (!options.ca_file.empty() || !options.ca_dir.empty()) {
            const char* file = options.ca_file.empty() ? nullptr : options.ca_file.c_str();
            const char* dir = options.ca_dir.empty() ? nullptr : options.ca_dir.c_str();
            if (SSL_CTX_load_verify_locations(context, file, dir) != 1) {
                return invalid(std::string("option \"") + (file != nullptr ? "tls_ca_file" : "tls_ca_dir") +
                               "\": cannot load the CA certificates: " + queued_error());
            }
        } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
            return invalid("redis TLS: cannot load the system's CA certificates: " + queued_error());
        }
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    }
    SSL_CTX_set_client_cert_cb(context, no_client_certificate);
    if (!options.cert_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(context, options.cert_file.c_str()) != 1) {
            return invalid("option \"tls_cert_file\": cannot load the client certificate: " + queued_error());
        }
        if (SSL_CTX_use_PrivateKey_file(context, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            return invalid("option \"tls_key_file\": cannot load the private key: " + queued_error());
        }
        if (SSL_CTX_check_private_key(context) != 1) {
            return invalid("options \"tls_cert_file\" and \"tls_key_file\": the key does not belong to the "
                           "certificate");
        }
    }
    *out = std::move(client);
    return Status::success();
}

TlsClient::~TlsClient() { SSL_CTX_free(context_); }

SSL* TlsClient::new_session(int fd, const std::string& host, bool* client_cert_requested) const {
    SSL* ssl = SSL_new(context_);
    if (ssl == nullptr) return nullptr;
    SSL_set_app_data(ssl, client_cert_requested);
    const std::string& name = options_.server_name.empty() ? host : options_.server_name;
    const bool ip = is_ip_literal(name);
    bool ok = SSL_set_fd(ssl, fd) == 1;
    // SNI carries host names only (RFC 6066), never an address.
    if (ok && !ip) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
    if (ok && !options_.skip_verify) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1
                : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1;
    }
    if (!ok) {
        SSL_free(ssl);
        return nullptr;
    }
    return ssl;
}

std::string tls_failure(SSL* ssl, int result) {
    const int saved_errno = errno;
    const int kind = SSL_get_error(ssl, result);
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        ERR_clear_error();
        return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
    }
    std::string queued = queued_error();
    if (!queued.empty()) return "TLS: " + queued;
    if (kind == SSL_ERROR_ZERO_RETURN) return "TLS: the server closed the connection";
    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE ||
        saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
        return "no answer within the timeout";
    }
    if (kind == SSL_ERROR_SYSCALL && saved_errno != 0) return std::string("TLS: ") + std::strerror(saved_errno);
    return "TLS: connection closed by the server";
}

}  // namespace tokend::redis_store
