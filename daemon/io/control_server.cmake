target_sources(tokend_io PRIVATE ${CMAKE_CURRENT_LIST_DIR}/control_server.cpp)
target_link_libraries(tokend_io PUBLIC spdlog::spdlog)
