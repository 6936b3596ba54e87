# Compiles every file under a folder, plus vendored files from node_modules, into a static
# library as a table of kc_asset records (include/kc/assets.h). The C source is generated at
# build time into the build tree; nothing generated lands in the source tree.
set(KC_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/KcEmbedAssetsGen.cmake)

# kc_embed_assets(target dir [VENDOR src=url-path ...])
function(kc_embed_assets target dir)
  cmake_parse_arguments(ARG "" "" "VENDOR" ${ARGN})
  file(GLOB_RECURSE _files CONFIGURE_DEPENDS LIST_DIRECTORIES false ${dir}/*)
  list(FILTER _files EXCLUDE REGEX "/(node_modules|vendor|\\.)")
  set(_vendor_deps "")
  foreach(pair IN LISTS ARG_VENDOR)
    string(REPLACE "=" ";" _parts "${pair}")
    list(GET _parts 0 _src)
    if(NOT EXISTS ${_src})
      message(FATAL_ERROR "UI dependency ${_src} is missing: run `npm ci` in ${CMAKE_SOURCE_DIR} "
                          "(or ./deploy/install-deps.sh) before building.")
    endif()
    list(APPEND _vendor_deps ${_src})
  endforeach()
  string(REPLACE ";" "|" _vendor_arg "${ARG_VENDOR}")
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${target}_data.c)
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${_out} "-DVENDOR=${_vendor_arg}"
            -P ${KC_EMBED_SCRIPT}
    DEPENDS ${_files} ${_vendor_deps} ${KC_EMBED_SCRIPT}
    COMMENT "Embedding UI assets from ${dir}"
    VERBATIM)
  add_library(${target} STATIC ${_out})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
endfunction()
