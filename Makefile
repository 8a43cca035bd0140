# registry-guard. `make run` builds the policy and checks the example
# manifests; `make test` is everything CI runs.

CARGO ?= cargo
# kwctl, for annotate and push (tests set it to `env HOME=scratch kwctl`).
KWCTL ?= kwctl
POLICY_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RUNNER := $(TARGET_DIR)/debug/registry-guard

.PHONY: bench baseline accept-all json-speed compile-profile fuzz run test unit-tests e2e-tests e2e-hosts push lint fmt fmt-check runner clean wasm-target \
	playground playground-serve playground-test

# wasm-opt (binaryen, pinned by tools/binaryen/package-lock.json), from npm.
WASM_OPT := tools/binaryen/node_modules/.bin/wasm-opt
# What rustc emits for wasm32-wasip1 by default; wasm-opt keeps to it.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
	--enable-mutable-globals --enable-multivalue --enable-reference-types
# -Oz: the smallest code (125 KB against 128 KB for -O2 and 127 KB for -O3)
# at the same validate time, measured with `make bench`; code size is
# compile time at PolicyServer start.
# --one-caller-inline-max-function-size 500: without it, -Oz inlines every
# function with one caller, and validate became one 39 KB function; the
# PolicyServer's compile (wasmtime, at start) grows faster than the largest
# function: 192 → 161 ms (2.87 → 2.40 × the baseline's), for +0.3 KB and
# the same per-request time (registry-guard bench, one run each of 50, 200,
# 500, 2000 and none).
WASM_OPT_FLAGS := -Oz --one-caller-inline-max-function-size 500 $(WASM_FEATURES) --strip-debug --strip-producers

$(WASM_OPT): tools/binaryen/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install wasm-opt (apt-get install -y nodejs npm)"; exit 1; }
	npm ci --prefix tools/binaryen --no-audit --no-fund --loglevel=error
	touch $@

# The policy module, as a PolicyServer loads it: cargo's release build, then
# wasm-opt.
policy.wasm: $(POLICY_SOURCES) $(WASM_OPT)
	@$(MAKE) --no-print-directory wasm-target
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/wasm32-wasip1/release/registry_guard.wasm -o policy.wasm

wasm-target:
	@if command -v rustup >/dev/null; then rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1; fi

# The module with its metadata embedded, for `kwctl push` (needs kwctl).
annotated-policy.wasm: policy.wasm metadata.yml README.md
	$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

# Publish the annotated policy to an OCI registry, as
# registry://REGISTRY/registry-guard:vVERSION (VERSION from metadata.yml):
#   make push REGISTRY=ghcr.io/acme/policies [SOURCES=sources.yml] [DOCKER_CONFIG=dir]
# SOURCES is kwctl's sources file (insecure_sources, source_authorities);
# DOCKER_CONFIG a directory holding the registry credentials' config.json.
POLICY_VERSION := $(shell sed -n 's/^ *io.kubewarden.policy.version: *//p' metadata.yml)
push: annotated-policy.wasm
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host[:port]/path [SOURCES=sources.yml] [DOCKER_CONFIG=dir]"; exit 1; }
	$(KWCTL) push $(if $(SOURCES),--sources-path $(SOURCES)) $(if $(DOCKER_CONFIG),--docker-config-json-path $(DOCKER_CONFIG)) \
		annotated-policy.wasm registry://$(REGISTRY)/registry-guard:v$(POLICY_VERSION)

# The offline runner (`registry-guard check ...`).
runner:
	$(CARGO) build --locked -p registry-guard-runner

# Build everything and check the example manifests: some are allowed, some
# denied (exit status 1 means "something denied", which is the point here).
# Then the mutation example: mirrors and pinning, with digests answered by a
# fake registry; the signatures example, verified by a fake Sigstore; and
# images outside containers (Tekton, Argo, KubeVirt, OpenShift, Crossplane,
# Kubewarden, and a custom resource through imageFields); and the image
# config example (labels, age, user), configs answered from a file.
run: policy.wasm runner
	$(RUNNER) check --settings examples/settings.yaml examples/manifests; test $$? -le 1
	$(RUNNER) check --settings examples/mutation/settings.yaml --digests examples/mutation/digests.yaml \
		--show-mutation examples/mutation/manifests; test $$? -le 1
	$(RUNNER) check --settings examples/signatures/settings.yaml --sigstore examples/signatures/sigstore.yaml \
		--show-mutation examples/signatures/manifests; test $$? -le 1
	$(RUNNER) check --settings examples/everywhere/settings.yaml examples/everywhere/manifests; test $$? -le 1
	$(RUNNER) check --settings examples/image-config/settings.yaml --image-configs examples/image-config/image-configs.yaml \
		examples/image-config/manifests; test $$? -le 1

# Timings and memory of policy.wasm against accept-all (benches/accept-all)
# and a baseline policy that parses the whole request into a JSON tree
# (benches/baseline), on benches/fixtures: fresh instance per request first,
# as a PolicyServer runs it; then end to end through policy-server, when it
# is on PATH (benches/policy-server/run.sh).
BASELINE := $(TARGET_DIR)/baseline-policy.wasm
ACCEPT_ALL := $(TARGET_DIR)/accept-all-policy.wasm

# Both benches run; the status is the first's (1 when a target is missed).
bench: policy.wasm runner baseline accept-all json-speed
	$(CARGO) run --locked --release --quiet --example profile-request -- json-speed
	status=0; $(RUNNER) bench --baseline $(BASELINE) --accept-all $(ACCEPT_ALL) || status=$$?; \
	ACCEPT_ALL_WASM=$(ACCEPT_ALL) BASELINE_WASM=$(BASELINE) bash benches/policy-server/run.sh || status=$$?; \
	bash benches/registry/run.sh || status=$$?; \
	exit $$status

# Built like policy.wasm (cargo's release profile, then wasm-opt), so that
# the comparison is like for like.
baseline: $(WASM_OPT)
	@$(MAKE) --no-print-directory wasm-target
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard-baseline
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/wasm32-wasip1/release/registry_guard_baseline.wasm -o $(BASELINE)

# The floor: a policy that accepts without reading the request, built the
# same way; what any policy pays the host (instance, payload copies).
accept-all: $(WASM_OPT)
	@$(MAKE) --no-print-directory wasm-target
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard-accept-all
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/wasm32-wasip1/release/registry_guard_accept_all.wasm -o $(ACCEPT_ALL)

# The policy's JSON reader alone (benches/json-speed), built the same way:
# the bench reports its bytes per second in wasm, skip path and event path.
json-speed: $(WASM_OPT)
	@$(MAKE) --no-print-directory wasm-target
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard-json-speed
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/wasm32-wasip1/release/registry_guard_json_speed.wasm -o $(TARGET_DIR)/json-speed.wasm

# Cranelift's time per function of policy.wasm, by name: the same build
# with its name section kept (wasm-opt -g), through `registry-guard bench
# --compile-profile`.
compile-profile: runner $(WASM_OPT)
	@$(MAKE) --no-print-directory wasm-target
	CARGO_PROFILE_RELEASE_STRIP=false $(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard --target-dir $(TARGET_DIR)/named
	$(WASM_OPT) -g $(filter-out --strip-debug,$(WASM_OPT_FLAGS)) $(TARGET_DIR)/named/wasm32-wasip1/release/registry_guard.wasm -o $(TARGET_DIR)/policy-named.wasm
	$(RUNNER) bench --compile-profile $(TARGET_DIR)/policy-named.wasm

# Fuzz every target for FUZZ_SECONDS (default 60) each; not part of `make test`.
# Before a change to the reader or the walker (src/request/) lands, run every
# target at least 10 minutes (FUZZ_SECONDS=600 make fuzz) and report each
# target's executions and result in the change's closing note.
fuzz:
	bash scripts/fuzz.sh

test: fmt-check lint unit-tests e2e-tests playground-test

unit-tests:
	$(CARGO) test --locked --workspace --exclude registry-guard-e2e

# The built policy.wasm, run through the runner's waPC host; then the bats
# suites (the kwctl ones skip themselves where kwctl is missing).
e2e-tests: policy.wasm runner baseline accept-all
	$(CARGO) test --locked -p registry-guard-e2e
	@if command -v bats >/dev/null; then \
		REGISTRY_GUARD_BIN=$(abspath $(RUNNER)) REGISTRY_GUARD_BASELINE=$(abspath $(BASELINE)) REGISTRY_GUARD_ACCEPT_ALL=$(abspath $(ACCEPT_ALL)) bats e2e-tests; \
	elif [ -n "$$CI" ]; then \
		echo "bats is not installed (CI installs it: apt-get install -y bats)"; exit 1; \
	else \
		echo "bats is not installed: skipping e2e-tests/*.bats (apt-get install -y bats)"; \
	fi

# The suites that run the policy in Kubewarden's own hosts (kwctl,
# policy-server, a loopback registry), again: .ci/run calls this a second
# time with ../shared/bin/1.31 first on PATH, so that both the current host
# (1.35) and the previous one (1.31) pass every case.
HOST_BATS := e2e-tests/kwctl.bats e2e-tests/packaging-kwctl.bats e2e-tests/policy-server.bats e2e-tests/registry.bats
e2e-hosts: policy.wasm runner accept-all
	@echo "e2e-hosts: $$(kwctl --version 2>/dev/null | head -1), $$(policy-server --version 2>/dev/null | head -1)"
	$(CARGO) test --locked -p registry-guard-e2e -- kwctl differential
	REGISTRY_GUARD_BIN=$(abspath $(RUNNER)) REGISTRY_GUARD_ACCEPT_ALL=$(abspath $(ACCEPT_ALL)) bats $(HOST_BATS)

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

# The playground (playground/): the policy's own code for the browser, built
# for wasm32-unknown-unknown and bound with wasm-bindgen-cli, installed here
# at exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3}' Cargo.lock)
WASM_BINDGEN := tools/wasm-bindgen/bin/wasm-bindgen
PLAYGROUND_WASM := $(TARGET_DIR)/wasm32-unknown-unknown/release/registry_guard_playground.wasm
PLAYGROUND_SOURCES := $(shell find playground/src playground/web runner/src -type f) playground/Cargo.toml runner/Cargo.toml \
	$(POLICY_SOURCES)

$(WASM_BINDGEN): Cargo.lock
	@if ! $(WASM_BINDGEN) --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)"; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into tools/wasm-bindgen"; \
		$(CARGO) install --locked wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root tools/wasm-bindgen; \
	fi
	touch $@

playground/dist/index.html: $(PLAYGROUND_SOURCES) $(WASM_BINDGEN) $(WASM_OPT)
	@if command -v rustup >/dev/null; then rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown; fi
	$(CARGO) build --locked --release --target wasm32-unknown-unknown -p registry-guard-playground
	rm -rf playground/dist
	$(WASM_BINDGEN) --target web --no-typescript --out-dir playground/dist/pkg $(PLAYGROUND_WASM)
	$(WASM_OPT) $(WASM_OPT_FLAGS) playground/dist/pkg/registry_guard_playground_bg.wasm \
		-o playground/dist/pkg/registry_guard_playground_bg.wasm
	cp playground/web/* playground/dist/
	@echo "playground/dist: $$(wc -c < playground/dist/pkg/registry_guard_playground_bg.wasm) bytes of wasm"

# playground/dist: a folder to copy to any static host.
playground: playground/dist/index.html

playground-serve: playground
	@echo "http://127.0.0.1:$(or $(PORT),8000)/"
	python3 -m http.server --bind 127.0.0.1 --directory playground/dist $(or $(PORT),8000)

# The browser test (headless Debian chromium, playwright-core from npm); it
# writes the README's screenshot. Skipped without chromium, except in CI.
CHROMIUM ?= /usr/bin/chromium
playground-test: playground
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ -n "$$CI" ]; then echo "chromium is missing (CI installs it: apt-get install -y chromium)"; exit 1; fi; \
		echo "chromium is not installed: skipping the playground's browser test (apt-get install -y chromium)"; exit 0; \
	fi; \
	npm ci --prefix playground/tests --no-audit --no-fund --loglevel=error && \
	CHROMIUM=$(CHROMIUM) node playground/tests/browser.mjs playground/dist docs/playground.png

clean:
	$(CARGO) clean
	rm -rf policy.wasm annotated-policy.wasm tools/binaryen/node_modules tools/wasm-bindgen playground/dist \
		playground/tests/node_modules
