# SPDX-License-Identifier: MIT
# A thin wrapper around CMake for the everyday commands. The build itself
# is described in CMakeLists.txt; nothing here is needed to use it.
#
#   make            configure and build in build/
#   make test       ... and run the suite (installs missing tools first, and
#                   GNU parallel for a differential test when it can)
#   make demo       ... and run demo/tour.sh (the build in two lines)
#   make readme-tour  rewrite README.md's transcript of the tour from a run
#   make bench      ... and run the benchmark, when there is one
#   make asan       the suite built with AddressSanitizer+UBSan, in build-asan/
#   make valgrind   the suite under valgrind, in build-valgrind/
#   make docs       the API reference with Doxygen: build/docs/html, man pages
#   make package    libuvexec0 and libuvexec-dev .deb files, in build-package/
#   make install    install to $(PREFIX) (default /usr/local), DESTDIR honoured,
#                   man pages included
#   make deps       install cmake, pkg-config, a compiler, libuv, Check, Doxygen
#   make format     clang-format the C sources
#   make clean      remove the build directories
#
# demo, test, bench, asan and valgrind show the build in two lines; all of
# its output is in build.log in the build directory. `make` shows it all.
#
# CC=clang, BUILD_TYPE=Debug, JOBS=4, CMAKE_FLAGS=-D... are honoured.

BUILD       ?= build
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= 2
PREFIX      ?= /usr/local
CMAKE       ?= cmake
CTEST       ?= ctest
CMAKE_FLAGS ?=

CTEST_ARGS = --output-on-failure -j$(JOBS)

# Prerequisites run in the order written (deps before build); the build
# itself is parallel inside CMake.
.NOTPARALLEL:

.PHONY: all build deps peers docs package demo readme-tour test bench asan valgrind install format clean

all: build

# $(call quiet_build,DIR,BUILD_TYPE,CMAKE_FLAGS): configure and build in
# DIR with all of the output in DIR/build.log; on the screen a line before
# and a line after, or, when the build fails, the log's last 40 lines, its
# path and a non-zero exit.
quiet_build = mkdir -p $(1); log=$(1)/build.log; start=$$(date +%s); \
	echo "==> build: configuring and compiling in $(1)/ (log: $$log)"; \
	if ! { $(CMAKE) -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) \
	         -DCMAKE_INSTALL_PREFIX="$(PREFIX)" $(3) && \
	       $(CMAKE) --build $(1) -j$(JOBS); } >$$log 2>&1; then \
	  tail -n 40 $$log; echo "==> build: FAILED (all of it in $$log)"; exit 1; \
	fi; \
	echo "==> build: done, $$(grep -c "Built target" $$log) targets" \
	  "in $$(( $$(date +%s) - start )) s"

# The install prefix is given to CMake when it configures, so that
# GNUInstallDirs chooses the directories for that prefix: /usr gets
# Debian's multiarch libdir (lib/x86_64-linux-gnu), /usr/local gets lib.
build:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_INSTALL_PREFIX="$(PREFIX)" $(CMAKE_FLAGS)
	$(CMAKE) --build $(BUILD) -j$(JOBS)

# The Debian package names of what the build needs. A tool that is present
# (whatever installed it) is not asked for again.
deps:
	@missing=""; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v doxygen >/dev/null 2>&1 || missing="$$missing doxygen"; \
	{ command -v cc || command -v gcc || command -v clang; } >/dev/null 2>&1 \
	  || missing="$$missing gcc libc6-dev"; \
	if command -v pkg-config >/dev/null 2>&1; then \
	  pkg-config --exists libuv || missing="$$missing libuv1-dev"; \
	  pkg-config --exists check || missing="$$missing check"; \
	else \
	  missing="$$missing libuv1-dev check"; \
	fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "deps: missing:$$missing"; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "deps: install them with your package manager, then run make again" >&2; \
	  exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else \
	  echo "deps: as root: apt-get install$$missing" >&2; \
	  exit 1; \
	fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y$$missing

# The programs some tests and benchmarks compare uvexec with, as
# command:package: GNU parallel (demo/parallel's differential test),
# bubblewrap (the sandbox's benchmark). Installed when apt-get and root
# (or sudo without a password) allow; otherwise those tests report
# themselves as not run, never as passed, and this says why.
PEERS = parallel:parallel bwrap:bubblewrap
peers:
	@missing=""; \
	for p in $(PEERS); do command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then sudo=none; \
	elif [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else sudo=none; fi; \
	if [ "$$sudo" = none ]; then \
	  echo "peers: not installed:$$missing; the tests that need them will be reported as not run"; \
	  exit 0; \
	fi; \
	echo "peers: installing$$missing (for the tests that compare with them)"; \
	{ $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q$$missing || \
	  { $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q$$missing; }; } \
	  >/dev/null 2>&1 || \
	  echo "peers: could not install$$missing; the tests that need them will be reported as not run"

# The build in two lines (quiet_build), then the tour.
demo: deps
	@$(call quiet_build,$(BUILD),$(BUILD_TYPE),$(CMAKE_FLAGS))
	@if [ -f demo/tour.sh ]; then \
	  UVEXEC_DEMO_DIR="$(CURDIR)/$(BUILD)/demo" bash demo/tour.sh; \
	else \
	  echo "demo: demo/tour.sh is not there yet; the demos are in $(BUILD)/demo/"; \
	fi

# README.md's transcript of the tour, rewritten from a run of it (the
# ctest readme_tour fails when the two differ in more than numbers).
readme-tour: build
	$(CMAKE) -DMODE=update -DTOUR=demo/tour.sh \
	  -DDEMO_DIR="$(CURDIR)/$(BUILD)/demo" -DREADME=README.md \
	  -P cmake/ReadmeTour.cmake

# The build in two lines (quiet_build), then ctest's report.
test: deps peers
	@$(call quiet_build,$(BUILD),$(BUILD_TYPE),$(CMAKE_FLAGS))
	cd $(BUILD) && $(CTEST) $(CTEST_ARGS)

# Every benchmark program in one run, after the build in two lines
# (quiet_build): the core's first, then each capability's. Extra arguments
# for all of them: BENCH_ARGS=...
BENCH_ARGS ?=
bench:
	@$(call quiet_build,$(BUILD),$(BUILD_TYPE),$(CMAKE_FLAGS))
	@set -e; found=0; \
	for b in $(BUILD)/test/bench/uvexec-bench $(BUILD)/test/bench/uvexec-bench-*; do \
	  [ -x "$$b" ] || continue; found=1; \
	  echo "=== $$(basename $$b)"; \
	  UVEXEC_TEST_HELPER="$(CURDIR)/$(BUILD)/test/uvexec-test-helper" \
	    "$$b" $(BENCH_ARGS); \
	done; \
	[ $$found = 1 ] || echo "bench: no benchmark built (test/bench/)"

# Debug keeps assert() in, which these runs are for. (The sanitizer list
# is a variable: a comma in it would split quiet_build's arguments.)
ASAN_FLAGS = -DUVEXEC_SANITIZE=address,undefined
asan: deps
	@$(call quiet_build,build-asan,Debug,$(CMAKE_FLAGS) $(ASAN_FLAGS))
	cd build-asan && $(CTEST) $(CTEST_ARGS)

valgrind: deps
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
	@$(call quiet_build,build-valgrind,Debug,$(CMAKE_FLAGS) -DUVEXEC_VALGRIND=ON)
	cd build-valgrind && $(CTEST) $(CTEST_ARGS)

# Doxygen's warnings are errors here: an undocumented public name fails.
docs: deps build
	$(CMAKE) --build $(BUILD) --target docs

# The Debian packages (cmake/UvexecPackage.cmake), built for /usr in a
# build directory of their own with Debian's build flags (hardening), the
# library and its man pages only; the .deb files land in $(PACKAGE_BUILD).
PACKAGE_BUILD ?= build-package
package: deps
	@command -v dpkg-deb >/dev/null 2>&1 || { \
	  echo "package: dpkg-deb is not installed (a Debian system is needed)" >&2; \
	  exit 1; }
	CFLAGS="$$(dpkg-buildflags --get CFLAGS 2>/dev/null) $$(dpkg-buildflags --get CPPFLAGS 2>/dev/null)" \
	LDFLAGS="$$(dpkg-buildflags --get LDFLAGS 2>/dev/null)" \
	  $(CMAKE) -S . -B $(PACKAGE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_INSTALL_PREFIX=/usr -DUVEXEC_BUILD_TESTS=OFF \
	  -DUVEXEC_BUILD_DEMOS=OFF -DUVEXEC_BUILD_DOCS=ON $(CMAKE_FLAGS)
	$(CMAKE) --build $(PACKAGE_BUILD) -j$(JOBS)
	$(CMAKE) --build $(PACKAGE_BUILD) --target docs
	cd $(PACKAGE_BUILD) && cpack -G DEB
	@ls -l $(PACKAGE_BUILD)/*.deb

# DESTDIR=... stages the install elsewhere, as usual.
install: docs
	$(CMAKE) --install $(BUILD)
	@if [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then \
	  ldconfig; fi

FORMAT_FILES = $(wildcard include/*.h lib/*.[ch] test/*.[ch] test/bench/*.[ch] \
                          test/consumer/*.c demo/*.c)

format:
	@command -v clang-format >/dev/null 2>&1 || { \
	  echo "format: clang-format is not installed" >&2; exit 1; }
	clang-format -i $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) build build-asan build-valgrind build-clang build-package
