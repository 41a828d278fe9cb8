# modrt_add_plugin(NAME SOURCES src... [LIBRARIES lib...])
# Builds plugins/NAME as modrt_NAME.so next to every other plugin; only the entry point is visible.
function(modrt_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(modrt_${name} MODULE ${ARG_SOURCES})
  target_link_libraries(modrt_${name} PRIVATE modrt::core ${ARG_LIBRARIES})
  set_target_properties(modrt_${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "modrt_${name}"
    LIBRARY_OUTPUT_DIRECTORY ${MODRT_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  install(TARGETS modrt_${name} LIBRARY DESTINATION ${MODRT_PLUGIN_INSTALL_DIR})
endfunction()
