# OryxPluginTest.cmake - oryx_add_plugin_test(): in-process tests of a
# plugin's stages through the test kit (oryx/testing.hpp), run by ctest.
#
#   oryx_add_plugin_test(NAME <test> SOURCES <files...> PLUGINS <plugin targets...>
#                        [LINK_LIBRARIES <libs...>] [LABELS <labels...>])
#
# Builds a Catch2 program linked with Oryx::testing. ORYX_TEST_PLUGIN_DIR
# (the Harness's default plugin directory) is the directory of the first
# plugin target; the plugins are built before the test.
function(oryx_add_plugin_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;PLUGINS;LINK_LIBRARIES;LABELS" ${ARGN})
  if(NOT T_NAME OR NOT T_SOURCES OR NOT T_PLUGINS)
    message(FATAL_ERROR "oryx_add_plugin_test needs NAME, SOURCES and PLUGINS")
  endif()
  find_package(Catch2 REQUIRED)
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE Oryx::testing Catch2::Catch2WithMain ${T_LINK_LIBRARIES})
  list(GET T_PLUGINS 0 first)
  target_compile_definitions(${T_NAME} PRIVATE
    ORYX_TEST_PLUGIN_DIR="$<TARGET_FILE_DIR:${first}>")
  add_dependencies(${T_NAME} ${T_PLUGINS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;plugin-test;${T_LABELS}")
  set_property(GLOBAL APPEND PROPERTY ORYX_PLUGIN_TEST_TARGETS ${T_NAME})
endfunction()
