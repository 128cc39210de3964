# Entry points: `make run` starts a demo server on http://127.0.0.1:8080, `make test` builds
# everything and runs the test suite. Both first check the Debian packages.

BUILD_DIR := build
BUILD_TYPE ?= Release
STORE ?= devauth.db

.PHONY: all packages configure build run test clean

all: build

packages:
	@scripts/ensure-packages.sh

configure: packages
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR)

run: configure
	cmake --build $(BUILD_DIR) --target devauth
	$(BUILD_DIR)/devauth serve --demo --store $(STORE)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

clean:
	rm -rf $(BUILD_DIR)
