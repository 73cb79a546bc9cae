# osb_first_party_plugin(<target> ENTRY <file> [SOURCES <file>...] [LIBRARIES <lib>...])
#
# Builds a first-party osbd plugin the way a vendor would (osb_add_plugin of the SDK): the module
# <target>.so of SOURCES and the entry point ENTRY, linked against osb::plugins_common, LIBRARIES
# and Threads::Threads, with the project's warnings when they are known. Inside the osbd tree
# the .so goes to OSBD_PLUGIN_OUTPUT_DIR and <target> joins the global OSBD_PLUGIN_TARGETS (the
# `runtime` target and the packages); built on its own, the plugin installs to
# OSB_PLUGIN_INSTALL_DIR.
include_guard(GLOBAL)

function(osb_first_party_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "ENTRY" "SOURCES;LIBRARIES")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_ENTRY)
    message(FATAL_ERROR "osb_first_party_plugin(${target}): needs ENTRY; unknown arguments: "
                        "${arg_UNPARSED_ARGUMENTS}")
  endif()
  osb_add_plugin(${target} SOURCES ${arg_SOURCES} ${arg_ENTRY})
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_libraries(${target} PRIVATE osb::plugins_common ${arg_LIBRARIES} Threads::Threads)
  if(COMMAND osbd_target_warnings)
    osbd_target_warnings(${target})
  endif()
  if(DEFINED OSBD_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${OSBD_PLUGIN_OUTPUT_DIR})
    set_property(GLOBAL APPEND PROPERTY OSBD_PLUGIN_TARGETS ${target})
  endif()
  if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
    include(GNUInstallDirs)
    set(OSB_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/osbd/plugins
        CACHE PATH "Where to install the plugin")
    install(TARGETS ${target} LIBRARY DESTINATION ${OSB_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
