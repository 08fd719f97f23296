# What `cmake --install` and the .deb (cpack -G DEB) hold beyond the binaries,
# which their own folders install: the systemd units, sysusers.d and tmpfiles.d
# files, the Python client (with its dist-info), the operator docs, and
# /etc/tokend/tokend.yml as a conffile. Build with -DCMAKE_INSTALL_PREFIX=/usr
# for a package, so that compiled-in paths (plugin folder) and GNUInstallDirs'
# /etc match it.

install(FILES systemd/tokend.service systemd/tokend.socket DESTINATION lib/systemd/system)
install(FILES systemd/tokend.sysusers DESTINATION lib/sysusers.d RENAME tokend.conf)
install(FILES systemd/tokend.tmpfiles DESTINATION lib/tmpfiles.d RENAME tokend.conf)
install(DIRECTORY sdk/python/tokend_client DESTINATION lib/python3/dist-packages
        PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE)
# The metadata pip and importlib.metadata read (the package's version is tokend's;
# tests/python/test_version.py keeps sdk/python/tokend_client/_version.py in step).
set(TOKEND_PY_DIST_INFO "${CMAKE_BINARY_DIR}/python/tokend_client-${PROJECT_VERSION}.dist-info")
file(WRITE "${TOKEND_PY_DIST_INFO}/METADATA"
     "Metadata-Version: 2.1\nName: tokend-client\nVersion: ${PROJECT_VERSION}\n"
     "Summary: Client for tokend's control socket: sync, asyncio, and a drop-in for the user_context module\n"
     "Requires-Python: >=3.9\nProvides-Extra: flask\n")
file(WRITE "${TOKEND_PY_DIST_INFO}/INSTALLER" "dpkg\n")
file(WRITE "${TOKEND_PY_DIST_INFO}/top_level.txt" "tokend_client\n")
install(DIRECTORY "${TOKEND_PY_DIST_INFO}" DESTINATION lib/python3/dist-packages)
install(FILES README.md docs/operations.md docs/configuration.md docs/protocol.md docs/plugin-abi.md docs/redis.md
              docs/python.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} OPTIONAL)
# /etc, not <prefix>/etc, when the prefix is /usr (GNUInstallDirs' special case).
install(FILES etc/tokend.yml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/tokend)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tokend)
set(CPACK_PACKAGE_VENDOR "tokend")
set(CPACK_PACKAGE_CONTACT "tokend maintainers <tokend@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OAuth token daemon for chat bots")
set(CPACK_PACKAGE_DESCRIPTION "tokend holds chat bots' users' OAuth tokens: one authorization-code flow per \
user, then valid access tokens on request over a local control socket. Ships the daemon, tokenctl, the store \
plugins, the plugin SDK and client headers with pkg-config files, the Python client, and systemd units.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles;${PROJECT_SOURCE_DIR}/packaging/debian/postinst;${PROJECT_SOURCE_DIR}/packaging/debian/prerm;${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
