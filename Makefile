# registry-guard. `make run` builds the policy and checks the example
# manifests; `make test` is everything CI runs.

CARGO ?= cargo
POLICY_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RUNNER := $(TARGET_DIR)/debug/registry-guard

.PHONY: bench baseline fuzz run test unit-tests e2e-tests lint fmt fmt-check runner clean wasm-target

# The policy module, as a PolicyServer loads it.
policy.wasm: $(POLICY_SOURCES)
	@$(MAKE) --no-print-directory wasm-target
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard
	cp $(TARGET_DIR)/wasm32-wasip1/release/registry_guard.wasm policy.wasm

wasm-target:
	@if command -v rustup >/dev/null; then rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1; fi

# The module with its metadata embedded, for `kwctl push` (needs kwctl).
annotated-policy.wasm: policy.wasm metadata.yml README.md
	kwctl annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

# The offline runner (`registry-guard check ...`).
runner:
	$(CARGO) build --locked -p registry-guard-runner

# Build everything and check the example manifests: some are allowed, some
# denied (exit status 1 means "something denied", which is the point here).
# Then the mutation example: mirrors and pinning, with digests answered by a
# fake registry.
run: policy.wasm runner
	$(RUNNER) check --settings examples/settings.yaml examples/manifests; test $$? -le 1
	$(RUNNER) check --settings examples/mutation/settings.yaml --digests examples/mutation/digests.yaml \
		--show-mutation examples/mutation/manifests; test $$? -le 1

# Timings and memory of policy.wasm against a baseline policy that parses the
# whole request into a JSON tree (benches/baseline), on benches/fixtures.
BASELINE := $(TARGET_DIR)/wasm32-wasip1/release/registry_guard_baseline.wasm

bench: policy.wasm runner baseline
	$(RUNNER) bench --baseline $(BASELINE)

baseline:
	$(CARGO) build --locked --target wasm32-wasip1 --release -p registry-guard-baseline

# Fuzz every target for FUZZ_SECONDS (default 60) each; not part of `make test`.
fuzz:
	bash scripts/fuzz.sh

test: fmt-check lint unit-tests e2e-tests

unit-tests:
	$(CARGO) test --locked --workspace --exclude registry-guard-e2e

# The built policy.wasm, run through the runner's waPC host; then the bats
# suites (the kwctl ones skip themselves where kwctl is missing).
e2e-tests: policy.wasm runner baseline
	$(CARGO) test --locked -p registry-guard-e2e
	@if command -v bats >/dev/null; then \
		REGISTRY_GUARD_BIN=$(abspath $(RUNNER)) REGISTRY_GUARD_BASELINE=$(abspath $(BASELINE)) bats e2e-tests; \
	elif [ -n "$$CI" ]; then \
		echo "bats is not installed (CI installs it: apt-get install -y bats)"; exit 1; \
	else \
		echo "bats is not installed: skipping e2e-tests/*.bats (apt-get install -y bats)"; \
	fi

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clean:
	$(CARGO) clean
	rm -f policy.wasm annotated-policy.wasm
