# osb_add_plugin(<target> SOURCES <file>... [OUTPUT_DIRECTORY <dir>] [ALLOW_UNDEFINED])
#
# Builds an osbd plugin: a MODULE library <target>.so (no "lib" prefix) linked against osb::sdk.
#   - Compiled with hidden visibility (also for inline functions); a linker version script
#     exports osb_plugin_entry and nothing else, so plugins cannot clash with each other or with
#     the broker, whatever libraries they link statically.
#   - Linked with --no-undefined, so a missing symbol fails the build and not the broker's start.
#     This is skipped when sanitizer flags are visible (-fsanitize=... in CMAKE_<LANG>_FLAGS,
#     CMAKE_MODULE_LINKER_FLAGS or the directory's compile/link options), because clang leaves the
#     sanitizer runtime to the executable. Pass ALLOW_UNDEFINED, or set OSB_PLUGIN_ALLOW_UNDEFINED
#     to ON, when sanitizer flags are added in a way this function cannot see.
#   - OUTPUT_DIRECTORY sets where the .so is written (LIBRARY_OUTPUT_DIRECTORY).
# Available after find_package(osb-sdk) and inside the osbd source tree.
include_guard(GLOBAL)

if(CMAKE_VERSION VERSION_LESS 3.17)
  message(FATAL_ERROR "osb_add_plugin needs CMake 3.17 or newer")
endif()

option(OSB_PLUGIN_ALLOW_UNDEFINED "Link osbd plugins without --no-undefined" OFF)

# Sets out_var to TRUE when sanitizer flags apply to targets of the calling directory.
function(_osb_plugin_sanitized out_var)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" config)
  get_directory_property(compile_options COMPILE_OPTIONS)
  get_directory_property(link_options LINK_OPTIONS)
  set(flags "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${config}} ${CMAKE_C_FLAGS}"
            "${CMAKE_C_FLAGS_${config}} ${CMAKE_MODULE_LINKER_FLAGS}"
            "${CMAKE_MODULE_LINKER_FLAGS_${config}} ${compile_options} ${link_options}")
  if(flags MATCHES "-fsanitize=")
    set(${out_var} TRUE PARENT_SCOPE)
  else()
    set(${out_var} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(osb_add_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "ALLOW_UNDEFINED" "OUTPUT_DIRECTORY" "SOURCES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "osb_add_plugin(${target}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "osb_add_plugin(${target}): SOURCES is empty")
  endif()
  if(NOT TARGET osb::sdk)
    message(FATAL_ERROR "osb_add_plugin(${target}): osb::sdk is not defined; "
                        "call find_package(osb-sdk REQUIRED) first")
  endif()

  add_library(${target} MODULE ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE osb::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${arg_OUTPUT_DIRECTORY}")
  endif()

  if(NOT APPLE AND NOT WIN32)
    set(version_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/osb_plugin.map")
    target_link_options(${target} PRIVATE "LINKER:--version-script=${version_script}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${version_script}")
    _osb_plugin_sanitized(sanitized)
    if(NOT arg_ALLOW_UNDEFINED AND NOT OSB_PLUGIN_ALLOW_UNDEFINED AND NOT sanitized)
      target_link_options(${target} PRIVATE "LINKER:--no-undefined")
    endif()
  endif()
endfunction()
