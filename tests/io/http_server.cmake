# Tests of the public-side HTTP server (included by tests/io/CMakeLists.txt).
# Pure parts, without sockets:
tokend_gtest(http_message_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_message_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/http_request_parser_test.cpp
  LIBS tokend_io)
# The server over real sockets on 127.0.0.1, driven by a plain POSIX client:
tokend_gtest(http_server_tests THREADS
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_server_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/http_test_client.cpp
  LIBS tokend_io)
