# modrt_add_plugin(NAME SOURCES src... [LIBRARIES lib...])
# Builds a plugin as modrt_NAME.so with only its entry point visible. Used by modrt's own plugins and,
# through find_package(modrt), by third-party ones.
include(GNUInstallDirs)
if(NOT DEFINED MODRT_PLUGIN_OUTPUT_DIR)
  set(MODRT_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/lib/modrt)
endif()
# Relative to the prefix of the project being installed (an absolute one would escape --prefix and
# DESTDIR). modrt's own plugins: <prefix>/lib/modrt, beside libmodrt, where modrt looks.
if(NOT DEFINED MODRT_PLUGIN_INSTALL_DIR)
  set(MODRT_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/modrt)
endif()

function(modrt_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(modrt_${name} MODULE ${ARG_SOURCES})
  target_link_libraries(modrt_${name} PRIVATE modrt::core ${ARG_LIBRARIES})
  set_target_properties(modrt_${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "modrt_${name}"
    LIBRARY_OUTPUT_DIRECTORY ${MODRT_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # libmodrt is already loaded by modrt when a plugin is; ../ finds it when loaded on its own.
    INSTALL_RPATH "\$ORIGIN/.."
    BUILD_RPATH "\$ORIGIN/..")
  install(TARGETS modrt_${name} LIBRARY DESTINATION ${MODRT_PLUGIN_INSTALL_DIR})
endfunction()
