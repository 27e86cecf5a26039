# attnr — two commands on a fresh Debian bookworm machine:
#   make serve   install what is missing, build, serve on localhost:50051
#   make test    install what is missing, build, run every test (ctest)
#   make bench   quality and speed beside the Xapian peer -> bench/results/
BUILD_DIR ?= build
JOBS ?= 2
CONFIG ?= config/server.textproto

.PHONY: serve test bench build configure deps clean

serve: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target attnr-server attnr
	exec $(BUILD_DIR)/bin/attnr-server --config $(CONFIG)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Debian's python3 (not a pyenv one): python3-xapian installs for it.
bench: build
	/usr/bin/python3 bench/run_bench.py --out bench/results

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

deps:
	bash scripts/install-deps.sh

clean:
	rm -rf $(BUILD_DIR)
