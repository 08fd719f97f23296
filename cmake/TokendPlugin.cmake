# tokend_add_store_plugin(<name> SOURCES ... [LIBS ...])
# Builds tokend_store_<name>.so as a MODULE with hidden visibility, so only the
# two entry symbols (marked TOKEND_EXPORT) are exported, and installs it where
# the daemon looks by default.
function(tokend_add_store_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  set(target tokend_store_${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${TOKEND_BUILD_PLUGIN_DIR}")
  target_link_libraries(${target} PRIVATE tokend_sdk ${P_LIBS})
  # A plugin must resolve every symbol at build time: dlopen(RTLD_NOW) would refuse it later.
  # The version script keeps libstdc++ template instances, which hidden visibility
  # alone still exports, out of the dynamic symbol table: only the two entry points leave.
  set(exports "${PROJECT_SOURCE_DIR}/cmake/store_plugin_exports.map")
  target_link_options(${target} PRIVATE -Wl,--no-undefined "-Wl,--version-script=${exports}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${exports}")
  install(TARGETS ${target} LIBRARY DESTINATION ${TOKEND_PLUGIN_INSTALL_DIR} COMPONENT daemon)
endfunction()
