# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build/release
FUZZ_DIR ?= build/fuzz
CONFIG ?= examples/quickstart.yml
CMAKE_FLAGS ?=

.PHONY: all deps build run test unit e2e fuzz-smoke fuzz soak bench bench-micro bench-smoke format clean

all: build

deps:
	@scripts/install-deps build test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

# Release binary at build/release/causeway, plus unit tests and micro-benchmarks.
build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds only the binary (not the tests and micro-benchmarks), then starts a whoami upstream
# and causeway on the quickstart configuration.
run: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target causeway
	@scripts/run-quickstart $(BUILD_DIR)/causeway $(CONFIG)

# Configures again first: a build directory made by `make run` had no test packages yet.
test: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)
	@scripts/npm-deps
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900
	$(MAKE) fuzz-smoke

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L e2e

$(FUZZ_DIR)/build.ninja:
	CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCAUSEWAY_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug

# A few seconds per fuzz target over the checked-in corpora (part of make test).
fuzz-smoke: $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	cd $(FUZZ_DIR) && ctest --output-on-failure -j $(JOBS)

# Long fuzz runs: FUZZ_SECONDS per target (default 300).
fuzz: $(FUZZ_DIR)/build.ninja
	@scripts/install-deps fuzz
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/fuzz/run-long $(FUZZ_DIR)

# The hardening and flood tests at SOAK_SCALE times the attackers, repeated for SOAK_MINUTES
# (default 30); not part of make test (docs/security.md).
soak: build
	@scripts/npm-deps
	SOAK_MINUTES=$${SOAK_MINUTES:-30} CAUSEWAY_SOAK_SCALE=$${SOAK_SCALE:-4} scripts/soak $(BUILD_DIR)/causeway

# bench/run ends with bench/ai_gateway (the AI gateway beside Portkey's) and bench/mcp_gateway
# (the MCP gateway beside mcp-proxy), which it skips when bench/npm-deps could not install their
# peers, or scripts/npm-deps the MCP SDKs (no npm or no registry).
bench: deps build
	@scripts/install-deps bench
	@bench/npm-deps || echo "bench/npm-deps failed: the AI and MCP gateway benchmarks will be skipped"
	@scripts/npm-deps || echo "scripts/npm-deps failed: the MCP gateway benchmark will be skipped"
	bench/run $(BUILD_DIR)/causeway

bench-smoke: build
	@scripts/install-deps bench
	@bench/npm-deps || echo "bench/npm-deps failed: the AI and MCP gateway benchmarks will be skipped"
	@scripts/npm-deps || echo "scripts/npm-deps failed: the MCP gateway benchmark will be skipped"
	BENCH_SMOKE=1 bench/run $(BUILD_DIR)/causeway

bench-micro: build
	$(BUILD_DIR)/bench/micro/causeway_micro_bench

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
