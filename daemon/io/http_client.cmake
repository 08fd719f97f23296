# The outgoing HTTP client (libcurl multi-socket on the libuv loop).
find_package(CURL REQUIRED)
target_sources(tokend_io PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/http_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_client_transfer.cpp
)
# PUBLIC: http_client_transfer.h includes <curl/curl.h> (http_client.h does not).
target_link_libraries(tokend_io PUBLIC CURL::libcurl)
