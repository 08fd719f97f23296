# What `cmake --install` and the .debs (cpack -G DEB) hold beyond the binaries,
# which their own folders install: the systemd units, sysusers.d and tmpfiles.d
# files, the Python client (with its dist-info), the Node.js client as an
# `npm pack` tarball, the operator docs, the licence, and /etc/tokend/tokend.yml
# as a conffile. Build with -DCMAKE_INSTALL_PREFIX=/usr for a package, so that
# compiled-in paths (plugin folder) and GNUInstallDirs' /etc match it.
#
# One build, four packages (docs/packaging.md): every install() names its
# component (tools/ sets its folder's default), and each component is a package:
#   daemon  -> tokend                 tokend, tokenctl, plugins, units, /etc, docs
#   library -> libtokend-client0      libtokend_client.so.0 (the C client)
#   dev     -> tokend-dev             headers, .pc files, libtokend_client.so,
#                                     tokend-store-conformance, the Node.js tarball
#   python  -> python3-tokend-client  the Python client
# An install() without a component would land in no package:
# scripts/check-deb.sh compares the packages with a whole `cmake --install`.

install(FILES systemd/tokend.service systemd/tokend.socket DESTINATION lib/systemd/system COMPONENT daemon)
install(FILES systemd/tokend.sysusers DESTINATION lib/sysusers.d RENAME tokend.conf COMPONENT daemon)
install(FILES systemd/tokend.tmpfiles DESTINATION lib/tmpfiles.d RENAME tokend.conf COMPONENT daemon)
install(DIRECTORY sdk/python/tokend_client DESTINATION lib/python3/dist-packages COMPONENT python
        PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE)
# The metadata pip and importlib.metadata read (the package's version is tokend's;
# tests/python/test_version.py keeps sdk/python/tokend_client/_version.py in step).
set(TOKEND_PY_DIST_INFO "${CMAKE_BINARY_DIR}/python/tokend_client-${PROJECT_VERSION}.dist-info")
file(WRITE "${TOKEND_PY_DIST_INFO}/METADATA"
     "Metadata-Version: 2.1\nName: tokend-client\nVersion: ${PROJECT_VERSION}\n"
     "Summary: Client for tokend's control socket: sync, asyncio, and a drop-in for the user_context module\n"
     "License: Apache-2.0\nRequires-Python: >=3.9\nProvides-Extra: flask\n")
file(WRITE "${TOKEND_PY_DIST_INFO}/INSTALLER" "dpkg\n")
file(WRITE "${TOKEND_PY_DIST_INFO}/top_level.txt" "tokend_client\n")
install(DIRECTORY "${TOKEND_PY_DIST_INFO}" DESTINATION lib/python3/dist-packages COMPONENT python)
install(FILES README.md docs/operations.md docs/configuration.md docs/protocol.md docs/plugin-abi.md docs/redis.md
              docs/python.md docs/node.md docs/packaging.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT daemon)
# /etc, not <prefix>/etc, when the prefix is /usr (GNUInstallDirs' special case).
install(FILES etc/tokend.yml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/tokend COMPONENT daemon)

# The Node.js client as npm would fetch it: `npm pack` of sdk/node (no
# dependencies, no network), for `npm install /usr/share/tokend/node/...tgz`.
# In tokend-dev: it is what a bot's developer builds against, like the headers
# (docs/packaging.md).
find_program(TOKEND_NPM_PACK NAMES npm REQUIRED)
file(READ sdk/node/package.json TOKEND_NODE_PACKAGE_JSON)
string(JSON TOKEND_NODE_VERSION GET "${TOKEND_NODE_PACKAGE_JSON}" version)
set(TOKEND_NODE_TARBALL "${CMAKE_BINARY_DIR}/node/tokend-client-${TOKEND_NODE_VERSION}.tgz")
file(GLOB TOKEND_NODE_SOURCES CONFIGURE_DEPENDS sdk/node/package.json sdk/node/README.md sdk/node/lib/*)
add_custom_command(OUTPUT "${TOKEND_NODE_TARBALL}"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/node"
  COMMAND "${TOKEND_NPM_PACK}" pack --silent --offline --ignore-scripts --pack-destination "${CMAKE_BINARY_DIR}/node"
          --cache "${CMAKE_BINARY_DIR}/node/npm-cache" --logs-dir "${CMAKE_BINARY_DIR}/node/npm-logs"
          "${PROJECT_SOURCE_DIR}/sdk/node"
  DEPENDS ${TOKEND_NODE_SOURCES}
  COMMENT "npm pack sdk/node"
  VERBATIM)
add_custom_target(tokend_node_tarball ALL DEPENDS "${TOKEND_NODE_TARBALL}")
install(FILES "${TOKEND_NODE_TARBALL}" DESTINATION ${CMAKE_INSTALL_DATADIR}/tokend/node COMPONENT dev)

# Debian's copyright file and changelog, in every package's doc folder
# (/usr/share/doc/<package>/copyright, changelog.Debian.gz: gzip -9n, no
# timestamp in the header). The package version comes from the changelog's
# first line, as dpkg-buildpackage takes it; its upstream part must be the
# project's version.
file(STRINGS packaging/debian/changelog TOKEND_DEB_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT TOKEND_DEB_CHANGELOG_TOP MATCHES "^tokend \\(([^-)]+)-([^)]+)\\) ")
  message(FATAL_ERROR "packaging/debian/changelog: the first line is not 'tokend (VERSION-REVISION) ...'")
endif()
set(TOKEND_DEB_UPSTREAM "${CMAKE_MATCH_1}")
set(TOKEND_DEB_REVISION "${CMAKE_MATCH_2}")
if(NOT TOKEND_DEB_UPSTREAM STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/debian/changelog's first entry is ${TOKEND_DEB_UPSTREAM}, the project is "
                      "${PROJECT_VERSION}: add a changelog entry for the new version")
endif()
find_program(TOKEND_GZIP NAMES gzip REQUIRED)
set(TOKEND_DEB_CHANGELOG_GZ "${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz")
add_custom_command(OUTPUT "${TOKEND_DEB_CHANGELOG_GZ}"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/packaging"
  COMMAND sh -c "\"$0\" -9nc \"$1\" > \"$2\"" "${TOKEND_GZIP}"
          "${PROJECT_SOURCE_DIR}/packaging/debian/changelog" "${TOKEND_DEB_CHANGELOG_GZ}"
  DEPENDS packaging/debian/changelog
  VERBATIM)
add_custom_target(tokend_deb_changelog ALL DEPENDS "${TOKEND_DEB_CHANGELOG_GZ}")

set(TOKEND_DEB_COMPONENTS daemon library dev python)
set(TOKEND_DEB_NAMES tokend libtokend-client0 tokend-dev python3-tokend-client)
foreach(component package IN ZIP_LISTS TOKEND_DEB_COMPONENTS TOKEND_DEB_NAMES)
  install(FILES packaging/debian/copyright "${TOKEND_DEB_CHANGELOG_GZ}"
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()
# lintian overrides, each with its reason in the file and in docs/packaging.md.
foreach(component package IN ZIP_LISTS TOKEND_DEB_COMPONENTS TOKEND_DEB_NAMES)
  if(EXISTS "${PROJECT_SOURCE_DIR}/packaging/debian/${package}/lintian-overrides")
    install(FILES packaging/debian/${package}/lintian-overrides
            DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${package} COMPONENT ${component})
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tokend)
set(CPACK_PACKAGE_VENDOR "tokend")
set(TOKEND_DEB_MAINTAINER "tokend maintainers <tokend-maintainers@example.org>"
    CACHE STRING "The packages' Maintainer field (set your own when you distribute them)")
set(CPACK_PACKAGE_CONTACT "${TOKEND_DEB_MAINTAINER}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before every
# package's own description (whose first line is its synopsis).
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${TOKEND_DEB_UPSTREAM}")
set(CPACK_DEBIAN_PACKAGE_RELEASE "${TOKEND_DEB_REVISION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# tokenctl needs libtokend_client.so.0, which is in another package of this
# build: dpkg-shlibdeps finds it in the build tree (the dependency on it is
# declared below, at this version).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/sdk")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# A shlibs file for every package with a versioned shared library: only
# libtokend-client0 has one (the plugins have no SONAME and are left out).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_COMPONENTS_ALL ${TOKEND_DEB_COMPONENTS})
# The packages of one build depend on each other at exactly its version.
set(TOKEND_DEB_FULL_VERSION "${TOKEND_DEB_UPSTREAM}-${TOKEND_DEB_REVISION}")
set(debian "${PROJECT_SOURCE_DIR}/packaging/debian")

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME tokend)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "libtokend-client0 (= ${TOKEND_DEB_FULL_VERSION}), adduser")
set(CPACK_DEBIAN_DAEMON_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_DAEMON_PACKAGE_SUGGESTS "python3-tokend-client, redis-server")
set(CPACK_COMPONENT_DAEMON_DESCRIPTION "OAuth token daemon for chat bots
tokend holds chat bots' users' OAuth tokens: one authorization-code flow per
user, then valid access tokens on request over a local control socket,
refreshed ahead of expiry. This package holds the daemon, tokenctl, the store
plugins (memory, YAML file, Redis) and the systemd units.")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    "${debian}/tokend/conffiles;${debian}/tokend/postinst;${debian}/tokend/prerm;${debian}/tokend/postrm")

set(CPACK_DEBIAN_LIBRARY_PACKAGE_NAME libtokend-client0)
set(CPACK_DEBIAN_LIBRARY_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIBRARY_DESCRIPTION "C client library for tokend's control socket
libtokend_client connects to tokend's Unix control socket and exchanges its
newline-delimited JSON requests and responses (blocking, with timeouts and a
line size limit). Bots written in C use it, and so does tokenctl.")
set(CPACK_DEBIAN_LIBRARY_PACKAGE_CONTROL_EXTRA "${debian}/libtokend-client0/triggers")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME tokend-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libtokend-client0 (= ${TOKEND_DEB_FULL_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION "tokend SDK: store plugin ABI, C client headers, conformance tool
The headers and pkg-config files for tokend store plugins (tokend-store) and
for the C client library (tokend-client), tokend-store-conformance (the
suite a plugin author runs against their plugin), and the Node.js client as
an npm tarball in /usr/share/tokend/node.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-tokend-client)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3:any")
set(CPACK_DEBIAN_PYTHON_PACKAGE_SUGGESTS "python3-flask")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION "Python client for tokend's control socket
tokend_client: a synchronous and an asyncio client for tokend, and a drop-in
for the user_context module that tokend replaced.")

include(CPack)
