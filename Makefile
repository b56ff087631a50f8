# Oryx - thin wrapper over CMake: deps, build, demo, test, bench, package.
# Run as root on Debian. `make demo` and `make test` do everything,
# installing missing packages first.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
# Tests run side by side: end-to-end tests mostly wait (for links, peers,
# timers), and each uses only resources it created (see tests/e2e/lib.sh).
TEST_JOBS  ?= $(JOBS)
CMAKE_ARGS ?=
# Build trees of this source share ccache entries (see CMakeLists.txt).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps build demo test side-builds test-fuzz-and-packages sanitize-build test-sanitize test-packages test-fuzz fuzz fuzz-build bench package install clean help

all: build

help:
	@echo "make demo     install deps, build, run Oryx between two demo namespaces"
	@echo "make test     install deps, build, run every test (ctest)"
	@echo "make bench    forwarding benchmark: oryxd xconnect vs a bare DPDK loop"
	@echo "make fuzz     run every libFuzzer target FUZZ_SECONDS (default 60) each"
	@echo "make test-sanitize  unit tests and the 'sanitize' e2e subset under ASan+UBSan"
	@echo "make package  build .rpm and .deb packages"
	@echo "make deps     install missing Debian packages (packaging/debian-deps.txt)"

deps:
	@bash packaging/install-deps.sh
	@$(MAKE) --no-print-directory -C tests/webui deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash etc/demo.sh $(BUILD)

# While ctest runs (its end-to-end tests mostly wait), the other three
# trees (ASan, fuzz, packages) compile at the lowest priority; their tests
# follow. The end-to-end tests labelled "sanitize" run once, against the
# sanitized build (test-sanitize), not twice.
test: build
	@echo "make test: the ASan, fuzz and package trees build in the background while ctest runs ($(BUILD)/side-builds.log)"
	@rm -f $(BUILD)/side-builds.rc
	@( nice -n 19 $(MAKE) --no-print-directory side-builds >$(BUILD)/side-builds.log 2>&1; \
	   echo $$? >$(BUILD)/side-builds.rc ) & \
	 cd $(BUILD) && ctest -LE sanitize --output-on-failure --timeout 600 -j $(TEST_JOBS); rc=$$?; \
	 echo "make test: waiting for the background builds"; wait; \
	 if [ "$$(cat side-builds.rc 2>/dev/null)" != 0 ]; then \
	   tail -n 60 side-builds.log; echo "make test: a background build failed (see $(BUILD)/side-builds.log)"; exit 1; fi; \
	 exit $$rc
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sanitize test-fuzz-and-packages

side-builds: sanitize-build fuzz-build package

# After ctest, beside the ASan+UBSan tests: the short fuzz runs, then the
# packages installed, run and removed.
test-fuzz-and-packages:
	@$(MAKE) --no-print-directory test-fuzz
	bash tests/packaging/install_test.sh $(BUILD)/packages
	bash tests/packaging/kubernetes_test.sh $(BUILD) $(BUILD)/packages

# Build both package formats, then install, run and remove them.
test-packages: package
	bash tests/packaging/install_test.sh $(BUILD)/packages
	bash tests/packaging/kubernetes_test.sh $(BUILD) $(BUILD)/packages

# Unit, loader and plugin conformance tests again under AddressSanitizer
# and UBSan (leaks included): every plugin's init/fini must be clean. Then
# the end-to-end subset labelled "sanitize" against sanitized oryxd,
# plugins and liboryx-preload.so, leak-checked when oryxd and the programs
# under `oryx run` exit (suppressions: tests/sanitize/).
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitize/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize-build: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DORYX_ASAN=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS) --target sanitize_suite

test-sanitize: sanitize-build
	cd $(BUILD)-asan && $(SANITIZE_ENV) ctest -L 'unit|sanitize' --output-on-failure -j $(TEST_JOBS)

# Fuzzing (fuzz/): clang, ASan, UBSan and libFuzzer in a tree of its own.
# Inputs that once crashed (fuzz/regressions/) are replayed first.
FUZZ_SECONDS ?= 60
fuzz-build: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DORYX_FUZZ=ON -DORYX_BUILD_TESTS=OFF $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_all

fuzz: build fuzz-build
	ORYX_FUZZ_PLUGIN_DIR=$(CURDIR)/$(BUILD)/plugins bash fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# A short run of every target inside `make test`.
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

bench: build
	bash bench/xconnect.sh $(BUILD)

# Packages are built in one tree of their own with prefix /usr: the .deb
# with Debian's multiarch libdir (-U: GNUInstallDirs picks it), then the
# .rpm with lib64. Between the two only the files that use the installed
# paths (oryx/install_paths.h) are compiled again.
PKG_CONFIG_ARGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DORYX_BUILD_TESTS=OFF
package: deps
	cmake -S . -B $(BUILD)-pkg $(PKG_CONFIG_ARGS) -UCMAKE_INSTALL_LIBDIR >/dev/null
	cmake --build $(BUILD)-pkg -j $(JOBS)
	cd $(BUILD)-pkg && rm -f *.deb *.rpm && cpack -G DEB
	cmake -S . -B $(BUILD)-pkg $(PKG_CONFIG_ARGS) -DCMAKE_INSTALL_LIBDIR=lib64 >/dev/null
	cmake --build $(BUILD)-pkg -j $(JOBS)
	cd $(BUILD)-pkg && cpack -G RPM
	@rm -rf $(BUILD)/packages && mkdir -p $(BUILD)/packages && cp $(BUILD)-pkg/*.deb $(BUILD)-pkg/*.rpm $(BUILD)/packages/
	@ls -l $(BUILD)/packages

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-pkg $(BUILD)-fuzz
