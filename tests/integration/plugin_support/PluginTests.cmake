# The test executable of one plugin suite, built against the SDK and plugins/common with the
# shared test support of this folder:
#   osbd_plugin_test(TARGET PLUGIN plugin_target DEFINE macro
#                    [PLUGIN_SRC dir] SOURCES ... [LIBRARIES ...])
# defines macro as the path of the plugin's .so (plus OSBD_BINARY and OSBD_PLUGIN_DIR), sees the
# plugin's sources in PLUGIN_SRC, and builds after the plugin, osbd and the example plugin.
set(OSBD_PLUGIN_SUPPORT_DIR ${CMAKE_CURRENT_LIST_DIR})

function(osbd_plugin_test target)
  cmake_parse_arguments(arg "" "PLUGIN;DEFINE;PLUGIN_SRC" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${target} ${arg_SOURCES})
  target_include_directories(${target} PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}
    ${arg_PLUGIN_SRC}
    ${OSBD_PLUGIN_SUPPORT_DIR}
    ${PROJECT_SOURCE_DIR}/tests/integration
    ${PROJECT_SOURCE_DIR}/tests/unit/sdk)
  target_link_libraries(${target} PRIVATE
    osb::sdk osb::plugins_common ${arg_LIBRARIES} GTest::gtest_main Boost::headers
    nlohmann_json::nlohmann_json Threads::Threads ${CMAKE_DL_LIBS})
  target_compile_definitions(${target} PRIVATE
    ${arg_DEFINE}="$<TARGET_FILE:${arg_PLUGIN}>"
    OSBD_BINARY="$<TARGET_FILE:osbd>"
    OSBD_PLUGIN_DIR="${OSBD_PLUGIN_OUTPUT_DIR}")
  osbd_target_warnings(${target})
  add_dependencies(${target} ${arg_PLUGIN} osbd osb_example)
endfunction()
