# The public-side HTTP/1.1 server (included by daemon/io/CMakeLists.txt).
#
# Pure pieces (no I/O, no clock; could move to tokend_core, which would then
# need http_parser): http_message.cpp, http_request_parser.cpp.
# Edge pieces (libuv): http_connection.cpp, http_server.cpp.

# Debian's libhttp-parser-dev ships neither a CMake config nor a pkg-config file.
find_path(TOKEND_HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(TOKEND_HTTP_PARSER_LIBRARY NAMES http_parser)
if(NOT TOKEND_HTTP_PARSER_INCLUDE_DIR OR NOT TOKEND_HTTP_PARSER_LIBRARY)
  message(FATAL_ERROR
    "http-parser not found (need http_parser.h and libhttp_parser): "
    "install it with 'apt-get install libhttp-parser-dev', or point "
    "TOKEND_HTTP_PARSER_INCLUDE_DIR / TOKEND_HTTP_PARSER_LIBRARY at it.")
endif()
if(NOT TARGET http_parser)
  add_library(http_parser UNKNOWN IMPORTED GLOBAL)
  set_target_properties(http_parser PROPERTIES
    IMPORTED_LOCATION "${TOKEND_HTTP_PARSER_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${TOKEND_HTTP_PARSER_INCLUDE_DIR}")
endif()

target_sources(tokend_io PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/http_message.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_request_parser.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_server.cpp
)
target_link_libraries(tokend_io PUBLIC http_parser PRIVATE spdlog::spdlog)
