# Compiles every file under a folder into a static library as a table of kc_asset records
# (include/kc/assets.h). The C source is generated at build time into the build tree.
set(KC_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/KcEmbedAssetsGen.cmake)

function(kc_embed_assets target dir)
  file(GLOB_RECURSE _files CONFIGURE_DEPENDS LIST_DIRECTORIES false ${dir}/*)
  list(FILTER _files EXCLUDE REGEX "/(node_modules|\\.)")
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${target}_data.c)
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${_out} -P ${KC_EMBED_SCRIPT}
    DEPENDS ${_files} ${KC_EMBED_SCRIPT}
    COMMENT "Embedding UI assets from ${dir}"
    VERBATIM)
  add_library(${target} STATIC ${_out})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
endfunction()
