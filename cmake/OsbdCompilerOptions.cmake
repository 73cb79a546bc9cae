# osbd_target_warnings(<target>): the project's warning set; errors unless OSBD_WERROR is OFF.
function(osbd_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(OSBD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
