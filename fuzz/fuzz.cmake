# The libFuzzer targets: every fuzz/fuzz_*.c, built only when loom is
# configured with -DLOOM_FUZZ=ON and clang-19 (build-fuzz/; `make fuzz`).
file(GLOB LOOM_FUZZ_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
foreach(src ${LOOM_FUZZ_SRC})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE loom_static)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${CMAKE_BINARY_DIR}/fuzz)
endforeach()
