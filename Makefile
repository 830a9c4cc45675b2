# loom — the two commands: `make test` and `make demo`.  Everything else is
# CMake under build/ (and build-asan/ for the sanitizer half of the suite,
# build-nollvm/ for the build without LLVM).
BUILD      ?= build
ASAN_BUILD ?= build-asan
NOLLVM_BUILD ?= build-nollvm
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 10
PREFIX     ?= /usr/local
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all setup configure test test-fast test-asan test-nollvm fuzz fuzz-build fuzz-smoke install demo clean

all: configure
	cmake --build $(BUILD) -j$(JOBS)

setup:
	@scripts/setup.sh

configure: setup
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_ARGS)

# The whole suite, then its sanitizer part under AddressSanitizer + UBSan,
# then loom without LLVM (built and smoke-tested).
test: all
	cd $(BUILD) && ctest -j$(JOBS) --output-on-failure
	$(MAKE) test-asan
	$(MAKE) test-nollvm
	$(MAKE) fuzz-smoke

test-asan: setup
	@test -f $(ASAN_BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLOOM_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:exitcode=99 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98 \
	  ctest -j$(JOBS) --output-on-failure -LE no-sanitize

# -DLOOM_WITH_LLVM=OFF: everything but the LLVM backend builds and runs;
# asking for it is an error.
test-nollvm: setup
	@test -f $(NOLLVM_BUILD)/CMakeCache.txt || \
	  cmake -S . -B $(NOLLVM_BUILD) -DLOOM_WITH_LLVM=OFF $(CMAKE_ARGS)
	cmake --build $(NOLLVM_BUILD) -j$(JOBS) --target loom_cli npycmp
	scripts/smoke-nollvm.sh $(NOLLVM_BUILD)

# The libFuzzer targets (fuzz/): clang-19, ASan + UBSan, without LLVM.
# `make fuzz` runs each for FUZZ_SECONDS (default 600); `make test` runs
# each for FUZZ_SMOKE_SECONDS (10) so that a regression shows.
fuzz-build: setup
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || \
	  CC=clang-19 cmake -S . -B $(FUZZ_BUILD) -DLOOM_FUZZ=ON -DLOOM_WITH_LLVM=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_yaml fuzz_safetensors \
	  fuzz_npy fuzz_ir fuzz_pipeline

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

# loom, libloom (static and shared), loom.h and loom.pc under PREFIX.
install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

demo: all
	@examples/demo.sh $(BUILD)/loom

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(NOLLVM_BUILD) $(FUZZ_BUILD)
