# The HTTP client against real servers on 127.0.0.1 that the test runs itself
# (tests/support: a scripted HTTP/1.1 server in plain POSIX sockets, and an
# OpenSSL server for the TLS verification tests).
tokend_gtest(http_client_tests THREADS SOURCES http_client_test.cpp LIBS tokend_io tokend_test_http_servers)
