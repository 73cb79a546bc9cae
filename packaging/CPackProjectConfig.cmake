# Read by cpack for every generator (CPACK_PROJECT_CONFIG_FILE).
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_OSBD_CONFIGURED_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the osbd .deb needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(this one: ${CPACK_OSBD_CONFIGURED_PREFIX}); use scripts/package.sh")
endif()
