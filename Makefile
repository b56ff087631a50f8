# Oryx - thin wrapper over CMake: deps, build, demo, test, bench, package.
# Run as root on Debian. `make demo` and `make test` do everything,
# installing missing packages first.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# Build trees of this source share ccache entries (see CMakeLists.txt).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps build demo test test-asan test-packages bench package install clean help

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
	@$(MAKE) --no-print-directory test-packages

# Build both package formats, then install, run and remove them.
test-packages: package
	bash tests/packaging/install_test.sh $(BUILD)/packages

# Unit, loader and plugin conformance tests again under AddressSanitizer
# (leaks included): every plugin's init/fini must be clean.
test-asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DORYX_ASAN=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS) --target unit_suite
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure

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
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-pkg
