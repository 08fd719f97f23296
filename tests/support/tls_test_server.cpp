#include "tls_test_server.h"

#include "scripted_http_server.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace tokend::test {

TestCertificate::TestCertificate(const std::string& subject_alt_names) {
    key = EVP_EC_gen("P-256");
    certificate = X509_new();
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
    X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600);
    X509_set_pubkey(certificate, key);
    X509_NAME* name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tokend test"), -1,
                               -1, 0);
    X509_set_issuer_name(certificate, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
    const std::pair<int, std::string> extensions[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_subject_key_identifier, "hash"},
        {NID_subject_alt_name, subject_alt_names},
    };
    for (const auto& [nid, value] : extensions) {
        X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
        X509_add_ext(certificate, extension, -1);
        X509_EXTENSION_free(extension);
    }
    X509_sign(certificate, key, EVP_sha256());

    char path[] = "/tmp/tokend-ca-XXXXXX";
    const int fd = mkstemp(path);
    pem_path = path;
    FILE* file = fdopen(fd, "w");
    PEM_write_X509(file, certificate);
    fclose(file);
}

TestCertificate::~TestCertificate() {
    X509_free(certificate);
    EVP_PKEY_free(key);
    unlink(pem_path.c_str());
}

TlsTestServer::TlsTestServer(const TestCertificate& certificate) {
    context_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(context_, certificate.certificate);
    SSL_CTX_use_PrivateKey(context_, certificate.key);
    listen_fd_ = bound_socket(port_);
    if (listen_fd_ < 0 || listen(listen_fd_, 16) != 0 || pipe2(wake_, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "TLS test server: cannot listen";
        return;
    }
    thread_ = std::thread([this] { run(); });
}

TlsTestServer::~TlsTestServer() {
    if (thread_.joinable()) {
        const char stop = 's';
        (void)!write(wake_[1], &stop, 1);
        thread_.join();
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
    SSL_CTX_free(context_);
}

std::string TlsTestServer::url(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void TlsTestServer::run() {
    for (;;) {
        pollfd fds[2] = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[0].revents) return;
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        timeval limit{5, 0};  // a stuck client must not stall the test's end
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        SSL* tls = SSL_new(context_);
        SSL_set_fd(tls, fd);
        if (SSL_accept(tls) == 1) {
            ++handshakes_;
            std::string request;
            char buffer[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                const int got = SSL_read(tls, buffer, sizeof buffer);
                if (got <= 0) break;
                request.append(buffer, size_t(got));
            }
            const std::string reply = http_response(200, "ok", {{"Connection", "close"}});
            SSL_write(tls, reply.data(), static_cast<int>(reply.size()));
            SSL_shutdown(tls);
        }
        ERR_clear_error();
        SSL_free(tls);
        ::close(fd);
    }
}

}  // namespace tokend::test
