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
  if(OSBD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
