# Compiler warnings for project targets; KC_WERROR=ON (set by CI) turns them into errors.
option(KC_WERROR "Treat warnings as errors" OFF)

function(kc_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wformat-truncation
    -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla
    -Wmissing-prototypes -Wold-style-definition -Wnull-dereference
    -Wimplicit-fallthrough -Wno-unused-parameter)
  if(KC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
