// A self-signed certificate made in memory, and a blocking OpenSSL server on
// 127.0.0.1 that answers every request with "200 ok" (one connection at a
// time), for tests of an HTTP client's TLS verification.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace tokend::test {

struct TestCertificate {
    std::string pem_path;  // the certificate, usable as ca_file
    EVP_PKEY* key = nullptr;
    X509* certificate = nullptr;

    // subject_alt_names like "IP:127.0.0.1,DNS:localhost"
    explicit TestCertificate(const std::string& subject_alt_names);
    ~TestCertificate();
    TestCertificate(const TestCertificate&) = delete;
    TestCertificate& operator=(const TestCertificate&) = delete;
};

class TlsTestServer {
public:
    explicit TlsTestServer(const TestCertificate& certificate);
    ~TlsTestServer();
    TlsTestServer(const TlsTestServer&) = delete;
    TlsTestServer& operator=(const TlsTestServer&) = delete;

    std::string url(std::string_view path) const;
    int handshakes_completed() const { return handshakes_.load(); }

private:
    void run();

    SSL_CTX* context_ = nullptr;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    int wake_[2] = {-1, -1};
    std::thread thread_;
    std::atomic<int> handshakes_{0};
};

}  // namespace tokend::test
