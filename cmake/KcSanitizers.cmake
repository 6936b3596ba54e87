# KC_SANITIZE=address,undefined builds every target with those sanitizers (tests run both builds).
set(KC_SANITIZE "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined")

if(KC_SANITIZE)
  set(_kc_san "-fsanitize=${KC_SANITIZE}" -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_options(${_kc_san})
  add_link_options(${_kc_san})
endif()
