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
  set_tests_properties(unit/${name} PROPERTIES SKIP_RETURN_CODE 77
    ENVIRONMENT "LOOM_SRC=${CMAKE_SOURCE_DIR};LOOM_BIN=${CMAKE_BINARY_DIR}")
endforeach()
# The goldens again, through the JIT.
if(LOOM_WITH_LLVM)
  add_test(NAME unit/test_goldens_jit COMMAND test_goldens WORKING_DIRECTORY ${LOOM_TESTS})
  set_tests_properties(unit/test_goldens_jit PROPERTIES ENVIRONMENT "LOOM_TEST_BACKEND=jit")
endif()

# Shell-driven tests: the CLI, bad inputs.  Each tests/cli/*.sh gets the
# built loom as $LOOM.
file(GLOB LOOM_SH_TESTS CONFIGURE_DEPENDS ${LOOM_TESTS}/cli/*.sh)
foreach(sh ${LOOM_SH_TESTS})
  get_filename_component(name ${sh} NAME_WE)
  add_test(NAME cli/${name} COMMAND bash ${sh} WORKING_DIRECTORY ${LOOM_TESTS})
  set_tests_properties(cli/${name} PROPERTIES SKIP_RETURN_CODE 77
    ENVIRONMENT "LOOM=$<TARGET_FILE:loom_cli>;LOOM_SRC=${CMAKE_SOURCE_DIR};LOOM_BIN=${CMAKE_BINARY_DIR}")
endforeach()

# Pass tests: each tests/passes/*.ir is IR text with RUN: lines and
# FileCheck CHECK: lines (LLVM's FileCheck, Debian llvm-19-tools), run by
# tests/passes/run.sh.
file(GLOB LOOM_PASS_TESTS CONFIGURE_DEPENDS ${LOOM_TESTS}/passes/*.ir)
foreach(ir ${LOOM_PASS_TESTS})
  get_filename_component(name ${ir} NAME_WE)
  add_test(NAME passes/${name} COMMAND bash ${LOOM_TESTS}/passes/run.sh ${ir}
           WORKING_DIRECTORY ${LOOM_TESTS})
  set_tests_properties(passes/${name} PROPERTIES
    ENVIRONMENT "LOOM=$<TARGET_FILE:loom_cli>")
endforeach()

# Building emitted C with every compiler: long runs of the system compilers,
# not of loom's host code (cli/c_backend covers that under the sanitizers).
set_tests_properties(cli/c_build cli/c_compilers PROPERTIES LABELS no-sanitize)

# Every golden on every backend under every pipeline variant: a long
# matrix of runs whose host side cli/opt and cli/c_backend already cover
# under the sanitizers.
set_tests_properties(cli/pass_matrix PROPERTIES LABELS no-sanitize)

# make install's files, used by a program of ours (their libloom would want
# the sanitizer runtime in the sanitizer build).
set_tests_properties(cli/install PROPERTIES LABELS no-sanitize)

# Test tools used by the shell tests.
add_executable(npycmp ${LOOM_TESTS}/tools/npycmp.c)
target_link_libraries(npycmp PRIVATE loom_rt)
set_target_properties(npycmp PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/tests)
add_executable(embcmp ${LOOM_TESTS}/tools/embcmp.c)
target_link_libraries(embcmp PRIVATE loom_rt)
set_target_properties(embcmp PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/tests)
