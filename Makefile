# Picket: the two commands of the README's Quick start are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
SHARED ?= ../shared
# Conformance tests that must keep passing (raised as the sensor grows; see .ci/run).
CONFORMANCE_MIN ?= 612
DEBIAN_PKGS := libvectorscan-dev libpcap-dev libzstd-dev pkg-config python3 tcpdump tcpreplay iproute2 prometheus time nats-server \
	chromium python3-venv xz-utils systemd logrotate
# picket report's tests: the STIX export is checked by OASIS's validator (PyPI, pinned; its
# schemas ship inside the package, so the check itself needs no network).
REPORT_VENV ?= target/report-venv
STIX_VALIDATOR_VERSION ?= 3.3.2

.PHONY: all deps report-tools build run test conformance bench fuzz-smoke evebox-check fmt clippy structure clean

all: build

# Installs the system packages the build and tests need (Debian/Ubuntu), only if missing.
deps:
	@missing=""; for p in $(DEBIAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs"; exit 1; }

build: deps
	$(CARGO) build --release --locked

# The Python tools of the report tests, in a virtual environment under target/.
report-tools: deps
	@if [ ! -x $(REPORT_VENV)/bin/stix2_validator ]; then \
	  python3 -m venv $(REPORT_VENV) && \
	  $(REPORT_VENV)/bin/pip install -q --disable-pip-version-check stix2-validator==$(STIX_VALIDATOR_VERSION); \
	fi

# Replays the bundled capture with the bundled rules and prints the summary and alerts.
run: build
	./target/release/picket replay --rules rules/ --eve /tmp/picket-demo.json captures/demo.pcap
	@echo "EVE events written to /tmp/picket-demo.json:"
	@python3 -c 'import json,collections,sys; c=collections.Counter(json.loads(l)["event_type"] for l in open("/tmp/picket-demo.json")); print(dict(c))'

# Structure, unit, integration and conformance tests. PICKET_REQUIRE_TOOLS=1: a test whose tool
# (chromium, stix2_validator, xz, /usr/bin/time, promtool, systemd-analyze, logrotate, tcpreplay,
# ip netns) is missing fails instead of skipping. Built with Cargo.toml's `ci` profile (release
# optimisation, no LTO) into target/ci/, not the release build `make run` makes: the unit-test
# harness and the three integration suites each link the whole sensor, and thin LTO made every
# one of those links a re-optimisation (a clean CI's build took 23 minutes, now about 14).
TEST_PROFILE ?= ci
test: deps report-tools
	python3 scripts/check-structure.py --quiet --protocols-fail
	PICKET_REQUIRE_TOOLS=1 PICKET_STIX_VALIDATOR=$(CURDIR)/$(REPORT_VENV)/bin/stix2_validator \
	  $(CARGO) test --profile $(TEST_PROFILE) --locked
	@if [ -x $(SHARED)/conformance/run ]; then \
	  PICKET_BIN=target/$(TEST_PROFILE)/picket $(SHARED)/conformance/run --min-pass $(CONFORMANCE_MIN); \
	else echo "conformance: $(SHARED)/conformance not present, skipped"; fi

conformance: build
	PICKET_BIN=target/release/picket $(SHARED)/conformance/run

FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= address
# Empty: fuzz/Cargo.toml's release profile (opt-level 3). See scripts/fuzz-smoke.sh.
FUZZ_OPT_LEVEL ?=

# Fuzzes every target in fuzz/ for FUZZ_SECONDS each (cargo-fuzz on stable via
# RUSTC_BOOTSTRAP=1); a crash fails the run and names the input. See docs/fuzzing.md.
fuzz-smoke: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SANITIZER=$(FUZZ_SANITIZER) FUZZ_OPT_LEVEL=$(FUZZ_OPT_LEVEL) SHARED=$(SHARED) \
	  scripts/fuzz-smoke.sh

# Opt-in: EveBox (SQLite mode) on Picket's EVE of mix.pcap and on Suricata's reference EVE; its
# HTTP API must show exactly what each file holds. Builds EveBox with cargo when it is not
# installed (about 9 CPU minutes). See README, "Briefing the case".
evebox-check: build
	python3 scripts/evebox-check.py --install --shared $(SHARED)

bench: deps
	$(CARGO) bench --locked

fmt:
	$(CARGO) fmt --all

# --all-targets: the criterion benchmarks and the tests are type-checked too, so an API change
# cannot leave them behind (they are not built by `make test`).
clippy: deps
	$(CARGO) clippy --profile $(TEST_PROFILE) --locked --all-targets -- -D warnings

# Import cycles between the modules under sensor/, file and function sizes, unsafe only in
# sensor/sys/, protocol names in detect/runtime/output (report only). See the script's header.
structure:
	python3 scripts/check-structure.py --protocols-fail

clean:
	$(CARGO) clean
