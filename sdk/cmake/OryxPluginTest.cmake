# OryxPluginTest.cmake - oryx_add_plugin_test(): in-process tests of a
# plugin's stages through the test kit (oryx/testing.hpp), run by ctest.
#
#   oryx_add_plugin_test(NAME <test> SOURCES <files...> PLUGINS <plugin targets...>
#                        [LINK_LIBRARIES <libs...>] [LABELS <labels...>])
#
# Builds a Catch2 program linked with Oryx::testing. The Harness's default
# plugin path (ORYX_TEST_PLUGIN_PATH, ':'-separated) is the directories of
# the PLUGINS targets, built before the test, and, out of tree, the
# installed plugins (the io plugin's ports, say). At run time the
# environment's ORYX_TEST_PLUGIN_PATH adds directories.
function(oryx_add_plugin_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;PLUGINS;LINK_LIBRARIES;LABELS" ${ARGN})
  if(NOT T_NAME OR NOT T_SOURCES OR NOT T_PLUGINS)
    message(FATAL_ERROR "oryx_add_plugin_test needs NAME, SOURCES and PLUGINS")
  endif()
  find_package(Catch2 REQUIRED)
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE Oryx::testing Catch2::Catch2WithMain ${T_LINK_LIBRARIES})
  set(path "")
  foreach(plugin ${T_PLUGINS})
    list(APPEND path "$<TARGET_FILE_DIR:${plugin}>")
  endforeach()
  if(IS_ABSOLUTE "${ORYX_PLUGIN_INSTALL_DIR}")  # set so by OryxConfig.cmake: out of tree
    list(APPEND path "${ORYX_PLUGIN_INSTALL_DIR}")
  endif()
  list(JOIN path ":" path)
  target_compile_definitions(${T_NAME} PRIVATE ORYX_TEST_PLUGIN_PATH="${path}")
  add_dependencies(${T_NAME} ${T_PLUGINS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;plugin-test;${T_LABELS}")
  set_property(GLOBAL APPEND PROPERTY ORYX_PLUGIN_TEST_TARGETS ${T_NAME})
endfunction()
