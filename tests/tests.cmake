# The test suite (ctest).  Every tests/unit/test_*.c is a program asserting
# values; it runs with the source tree's tests/ folder as working directory.
set(LOOM_TESTS ${CMAKE_SOURCE_DIR}/tests)
file(GLOB LOOM_UNIT_TESTS CONFIGURE_DEPENDS ${LOOM_TESTS}/unit/test_*.c)
foreach(src ${LOOM_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE loom_static)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME unit/${name} COMMAND ${name} WORKING_DIRECTORY ${LOOM_TESTS})
  set_tests_properties(unit/${name} PROPERTIES
    ENVIRONMENT "LOOM_SRC=${CMAKE_SOURCE_DIR};LOOM_BIN=${CMAKE_BINARY_DIR}")
endforeach()

# Shell-driven tests: the CLI, bad inputs.  Each tests/cli/*.sh gets the
# built loom as $LOOM.
file(GLOB LOOM_SH_TESTS CONFIGURE_DEPENDS ${LOOM_TESTS}/cli/*.sh)
foreach(sh ${LOOM_SH_TESTS})
  get_filename_component(name ${sh} NAME_WE)
  add_test(NAME cli/${name} COMMAND bash ${sh} WORKING_DIRECTORY ${LOOM_TESTS})
  set_tests_properties(cli/${name} PROPERTIES
    ENVIRONMENT "LOOM=$<TARGET_FILE:loom_cli>;LOOM_SRC=${CMAKE_SOURCE_DIR};LOOM_BIN=${CMAKE_BINARY_DIR}")
endforeach()

# Test tools used by the shell tests.
add_executable(npycmp ${LOOM_TESTS}/tools/npycmp.c)
target_link_libraries(npycmp PRIVATE loom_rt)
set_target_properties(npycmp PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/tests)
