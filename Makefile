# attnr — two commands on a fresh Debian bookworm machine:
#   make serve   install what is missing, build, serve on localhost:50051
#   make test    install what is missing, build, run every test (ctest)
BUILD_DIR ?= build
JOBS ?= 2
CONFIG ?= config/server.textproto

.PHONY: serve test build configure deps clean

serve: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target attnr-server attnr
	exec $(BUILD_DIR)/bin/attnr-server --config $(CONFIG)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

deps:
	bash scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR)
