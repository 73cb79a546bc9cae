# osbd_target_warnings(<target>): the project's warning set; errors when OSBD_WERROR is ON (the
# project's own checks, scripts/test.sh), never forced on a user's or a packager's build.
#
# With clang, -Wthread-safety checks every member annotated OSBD_GUARDED_BY and every function
# annotated OSBD_REQUIRES (core/util/mutex.hpp) at compile time.
function(osbd_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wthread-safety>)
  endif()
  # GCC 12 inlines libstdc++'s std::string concatenation at -O3 and then reports an overlap of
  # ~2^63 bytes that cannot happen (GCC bug 105329, fixed in GCC 13): a false positive, so the
  # Release (-O3) build of osbd with GCC 12 does not run this one check.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-Wno-restrict>)
  endif()
  if(OSBD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
