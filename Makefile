# tsbpf: the two commands a newcomer needs are `make run` and `make test`; each sets up and
# builds what is missing first.

SHELL := /bin/bash
.DEFAULT_GOAL := build

# Debian's emcc finds acorn through NODE_PATH.
export NODE_PATH ?= /usr/share/nodejs

CLANG ?= clang-14
BUILD := build
WASM := $(BUILD)/wasm/core.wasm
CORE_SOURCES := $(wildcard core/src/*.c core/src/*.h core/include/tsbpf/*.h) core/CMakeLists.txt core/generated/exports.cmake
TS_SOURCES := $(shell find src bridge test bench examples -name '*.ts' 2>/dev/null) tsconfig.json
STAMP := $(BUILD)/.stamp

# Debian packages the build and the tests use; emscripten is skipped when an emcc
# (an activated emsdk, say) is already on PATH.
APT_PACKAGES := clang-14 llvm-14 libclang-rt-14-dev bpftool libbpf-dev cmake iproute2
ifeq ($(shell command -v emcc 2>/dev/null),)
APT_PACKAGES += emscripten
endif

.PHONY: setup build test test-unit test-kernel test-runtimes run bench generate check-generated fuzz fuzz-build clean

## setup: install missing Debian packages and npm dependencies
setup: $(STAMP)/apt $(STAMP)/npm

$(STAMP)/apt:
	@mkdir -p $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/npm: package.json package-lock.json
	@mkdir -p $(STAMP)
	npm ci --no-audit --no-fund
	@touch $@

## build: core.wasm and the compiled TypeScript in dist/
build: setup $(WASM) $(STAMP)/tsc

$(WASM): $(CORE_SOURCES)
	@mkdir -p $(BUILD)/wasm
	@[ -f $(BUILD)/wasm/CMakeCache.txt ] || emcmake cmake -S core -B $(BUILD)/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD)/wasm
	@mkdir -p dist && cp $(WASM) dist/core.wasm

$(STAMP)/tsc: $(TS_SOURCES) $(WASM)
	rm -rf dist && npx tsc -p .
	@mkdir -p dist && cp $(WASM) dist/core.wasm
	@# package.json's bin: tsc does not set the mode, npx and npm link need it executable.
	@chmod +x dist/src/cli/main.js
	@touch $@

## generate: rewrite the generated bindings from the headers
generate:
	node scripts/gen-abi.mjs
	node scripts/gen-uapi.mjs

## check-generated: fail if the generated files are stale
check-generated: generate
	git diff --exit-code -- core/generated bridge/generated src/generated

## test: unit tests (fake host) and kernel tests (real bpf(2)); ends with "N passed, N failed"
test: build fuzz-replay-build
	node scripts/run-tests.mjs

## test-runtimes: only the runtime suite, under Node, Bun and Deno (RUNTIMES=bun,deno to choose)
test-runtimes: build
	node scripts/run-tests.mjs --runtimes $(RUNTIMES)

## run: the tour of tsbpf on the real kernel
EXAMPLES := $(patsubst examples/%.bpf.c,$(BUILD)/examples/%.bpf.o,$(wildcard examples/*.bpf.c))
BPF_CFLAGS := -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Wall

$(BUILD)/examples/%.bpf.o: examples/%.bpf.c
	@mkdir -p $(BUILD)/examples
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

run: build $(EXAMPLES)
	node dist/examples/tour.js

## bench: the TypeScript benchmarks beside their raw C baselines, on Node, Bun and Deno
bench: build
	node scripts/run-bench.mjs --runtime all

## fuzz: each libFuzzer target for FUZZ_SECONDS seconds
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	node scripts/run-fuzz.mjs --seconds $(FUZZ_SECONDS)

fuzz-build fuzz-replay-build: setup
	@[ -f $(BUILD)/native/CMakeCache.txt ] || CC=$(CLANG) cmake -S core -B $(BUILD)/native -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(BUILD)/native -j2

clean:
	rm -rf $(BUILD) dist
