# The HTTP client against real servers on 127.0.0.1 that the test runs itself
# (plain POSIX sockets; OpenSSL only for the TLS verification tests).
find_package(OpenSSL REQUIRED)
tokend_gtest(http_client_tests SOURCES http_client_test.cpp LIBS tokend_io OpenSSL::SSL OpenSSL::Crypto)
