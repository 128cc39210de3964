# Entry points: `make run` starts a demo server on http://127.0.0.1:8080, `make test` builds
# everything and runs the test suite. Both first check the Debian packages.

BUILD_DIR := build
BUILD_TYPE ?= Release
STORE ?= devauth.db

.PHONY: all packages configure build run interop-deps browser-deps test bench clean install

all: build

packages:
	@scripts/ensure-packages.sh

configure: packages
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR)

# Installs under PREFIX (default /usr/local): bin/devauth, lib/systemd/system/devauth.service and
# share/doc/devauth with the example configuration. DESTDIR stages the files elsewhere.
PREFIX ?= /usr/local
install: configure
	cmake -S . -B $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD_DIR) --target devauth
	cmake --install $(BUILD_DIR)

run: configure
	cmake --build $(BUILD_DIR) --target devauth
	$(BUILD_DIR)/devauth serve --demo --store $(STORE)

# The interop tests run Node's test runner with the client libraries pinned in
# interop/package-lock.json; npm ci installs them when they are missing or out of date.
interop-deps:
	@command -v npm >/dev/null || scripts/ensure-packages.sh nodejs npm
	@cd interop && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
	  npm ci --no-audit --no-fund; }

# The browser tests drive Debian's chromium with playwright-core, pinned in
# tests/browser/package-lock.json; it uses /usr/bin/chromium and downloads no browser.
browser-deps:
	@scripts/ensure-packages.sh chromium fonts-dejavu-core
	@command -v npm >/dev/null || scripts/ensure-packages.sh nodejs npm
	@cd tests/browser && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
	  npm ci --no-audit --no-fund; }

# The PostgreSQL tests run against a throwaway server that scripts/with-postgres.sh starts.
test: build interop-deps browser-deps
	scripts/with-postgres.sh ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

# Load and micro-benchmarks in build-bench (not part of test); BENCH_QUICK=1 for a short run.
# The PostgreSQL runs use a throwaway cluster with durable settings. docs/benchmarks.md
# describes them.
bench: packages
	DEVAUTH_POSTGRES_DURABLE=1 scripts/with-postgres.sh bench/run.sh

# Reliability checks (DEVELOPERS.md, "Reliability checks"). lint: clang-format and clang-tidy
# against .clang-tidy-baseline; sanitize: the tests under ASan+UBSan (build-asan) and the
# concurrent tests under TSan (build-tsan); fuzz: every libFuzzer target for FUZZ_SECONDS each.
SANITIZE_EXCLUDE ?= Browser
TSAN_TESTS ?= Racing|Concurrent|GroupCommit|BackgroundInsert|CountedInsert|AbuseLimits|DeviceAuthorization|Checkpoint|HttpServerTest|AppTest|MalformedSweep|HeldPoll|EarlyPoll
FUZZ_SECONDS ?= 300

.PHONY: lint sanitize fuzz-build fuzz fuzz-ci

lint: configure
	@scripts/ensure-packages.sh clang-format clang-tidy
	scripts/check-format.sh
	BUILD_DIR=$(BUILD_DIR) scripts/clang-tidy-check.sh

sanitize: packages
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDEVAUTH_SANITIZE=address
	cmake --build build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/with-postgres.sh ctest --test-dir build-asan --output-on-failure -j2 -E '$(SANITIZE_EXCLUDE)'
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDEVAUTH_SANITIZE=thread
	cmake --build build-tsan --target store_tests oauth_tests http_tests
	TSAN_OPTIONS=halt_on_error=1 \
	  scripts/with-postgres.sh ctest --test-dir build-tsan --output-on-failure -j2 -R '$(TSAN_TESTS)'

fuzz-build: packages
	@scripts/ensure-packages.sh clang libclang-rt-14-dev
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDEVAUTH_FUZZ=ON -DBUILD_TESTING=OFF
	cmake --build build-fuzz --target $$(cd fuzz && ls fuzz_*.cc | sed 's/\.cc$$//')

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzzers.sh

fuzz-ci: fuzz-build
	FUZZ_SECONDS=30 scripts/run-fuzzers.sh

clean:
	rm -rf $(BUILD_DIR)
