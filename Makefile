# Oryx - thin wrapper over CMake: deps, build, demo, test, bench, package.
# Run as root on Debian. `make demo` and `make test` do everything,
# installing missing packages first.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build demo test test-asan bench package install clean help

all: build

help:
	@echo "make demo     install deps, build, run Oryx between two demo namespaces"
	@echo "make test     install deps, build, run every test (ctest)"
	@echo "make bench    forwarding benchmark: oryxd xconnect vs a bare DPDK loop"
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

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600
	@$(MAKE) --no-print-directory test-asan

# Unit, loader and plugin conformance tests again under AddressSanitizer
# (leaks included): every plugin's init/fini must be clean.
test-asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DORYX_ASAN=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure

bench: build
	bash bench/xconnect.sh $(BUILD)

package: build
	cd $(BUILD) && cpack -G "RPM;DEB"

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan
