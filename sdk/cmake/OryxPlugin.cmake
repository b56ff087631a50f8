# OryxPlugin.cmake - oryx_add_plugin(): one call per plugin.
#
#   oryx_add_plugin(NAME <name> SOURCES <files...> [LINK_LIBRARIES <libs...>]
#                   [PANEL <file.js>] [COMPONENT <cpack component>]
#                   [OUTPUT_DIR <dir>] [NO_INSTALL])
#
# Builds <name>.so as a MODULE with hidden visibility, no soname and no
# undefined symbols: a plugin reaches the kernel only through the host
# function table, never by linking to it.
function(oryx_add_plugin)
  cmake_parse_arguments(P "NO_INSTALL" "NAME;COMPONENT;OUTPUT_DIR;PANEL" "SOURCES;LINK_LIBRARIES"
                        ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "oryx_add_plugin needs NAME and SOURCES")
  endif()
  set(target oryx_plugin_${P_NAME})
  add_library(${target} MODULE ${P_SOURCES})
  # Listed so that one target can stand for every plugin of a build.
  set_property(GLOBAL APPEND PROPERTY ORYX_PLUGIN_TARGETS ${target})
  target_link_libraries(${target} PRIVATE Oryx::sdk ${P_LINK_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME ${P_NAME} NO_SONAME ON
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  if(P_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  elseif(ORYX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ORYX_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT P_COMPONENT)
    set(P_COMPONENT runtime)
  endif()
  if(ORYX_PLUGIN_INSTALL_DIR AND NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${ORYX_PLUGIN_INSTALL_DIR} COMPONENT ${P_COMPONENT})
  endif()
  # The plugin's dashboard panel (an ES module, see docs/plugin-guide.md)
  # goes next to the .so as <name>.panel.js, where oryxd finds it.
  if(P_PANEL)
    get_filename_component(panel ${P_PANEL} ABSOLUTE)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${panel}
              $<TARGET_FILE_DIR:${target}>/${P_NAME}.panel.js
      COMMENT "dashboard panel of plugin ${P_NAME}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${panel})
    if(ORYX_PLUGIN_INSTALL_DIR AND NOT P_NO_INSTALL)
      install(FILES ${panel} RENAME ${P_NAME}.panel.js DESTINATION ${ORYX_PLUGIN_INSTALL_DIR}
              COMPONENT ${P_COMPONENT})
    endif()
  endif()
endfunction()
