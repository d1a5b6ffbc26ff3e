// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "pipetrace",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pipetrace", targets: ["pipetrace"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"), .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // The event structs shared with the BPF programs (bpf/pipetrace.h), written once.
        .target(name: "CPipetraceEvents"),
        // The BPF objects, embedded (bpf/Makefile generates them before `swift build`).
        .target(name: "CPipetraceBPF"),
        // libbpf from the system (Debian: libbpf-dev); only Probe/LibBPF imports it.
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev", "libelf-dev"])]),
        // Pure core: decoded kernel events as Swift values. No I/O.
        .target(name: "Events", dependencies: ["CPipetraceEvents"]),
        // Pure core: credentials masked in bytes, text and packets (every output applies it); packets read by Events' IPTCPHeaders.
        .target(name: "Redaction", dependencies: ["Events"]),
        // Pure core: where in a Go binary crypto/tls reads and writes (.gopclntab, x86-64 instruction lengths). No I/O.
        .target(name: "GoBinary"),
        // I/O edge: loads and attaches the BPF programs, reads the ring buffer.
        .target(name: "Probe", dependencies: ["Events", "GoBinary", "CLibBPF", "CPipetraceBPF", "CPipetraceEvents"]),
        // Pure core: events in, request records out.
        .target(name: "Analyzer", dependencies: ["Events", "Redaction"]),
        // Pure core: captured packets in (link layer, IP, TCP reassembly), the probe's events out. No I/O.
        .target(name: "Packets", dependencies: ["Events"]),
        // libpcap (Debian: libpcap-dev) behind opaque handles: capture files and filter expressions.
        // Not a module map over <pcap/pcap.h>: its struct bpf_insn clashes with libbpf's in Swift.
        .target(name: "CLibPcap", linkerSettings: [.linkedLibrary("pcap")]),
        // Pure core: capture file formats (pcapng, Tracee JSON lines) and the annotation of packets with processes and requests. No I/O.
        .target(name: "CaptureFormats", dependencies: ["Events", "Analyzer", "Packets", "Redaction"]),
        // snappy from the system (Debian: libsnappy-dev): remote write's compression; only the Exporter imports it.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        // Intel ISA-L from the system (Debian: libisal-dev): gzip for OTLP/HTTP bodies, about four times libdeflate's
        // speed at its fastest level for nearly the same size (bench/OTLPEncodeBenchmark); only the Exporter imports it.
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // OpenSSL from the system (Debian: libssl-dev): https for every sink URL; only the Exporter imports it.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // Pure core of the export (as NIOCore): metrics, series, OTLP and remote-write encoding (gzip and snappy are
        // computations over memory), span linking, the configuration and delivery policy. No sockets, files, threads or clocks.
        .target(name: "ExporterCore", dependencies: ["Analyzer", "CSnappy", "CISAL", .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Yams", package: "Yams")]),
        // I/O edge of the export (as NIOPosix): sockets, the HTTP client and TLS, the /metrics server, the spool, the sinks' threads and the export loop.
        .target(name: "Exporter", dependencies: ["ExporterCore", "Analyzer", "Events", "Redaction", "COpenSSL"]),
        // Pure core: records in, the self-contained HTML report of `stat --html` and `analyze --html` out. No I/O.
        .target(name: "Report", dependencies: ["Analyzer", "Events"]),
        // I/O edge of `capture` and `analyze`: capture files read on three threads (CaptureAnalysis), a live
        // capture's packets filtered and written (CaptureSession), buffered output to file descriptors.
        .target(name: "Capture", dependencies: ["Analyzer", "CaptureFormats", "CLibPcap", "Events", "Packets", "Redaction"]),
        // Live tracing for `stat`, `watch` and `demo`: an event source (the probe) through the analyzer to records, until told to stop.
        .target(name: "Tracing", dependencies: ["Analyzer", "Events", "Probe", "Redaction", "Report"]),
        // The one process runner and network-namespace builder, shared by the demo, the tests and the benches.
        .target(name: "Testbed"),
        .executableTarget(
            name: "pipetrace",
            dependencies: [
                "Probe", "Analyzer", "Report", "Exporter", "ExporterCore", "Events", "Packets", "CaptureFormats", "CLibPcap", "Redaction", "Testbed", "Capture", "Tracing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // bench/: the Analyzer's throughput and memory (swift run -c release AnalyzerBenchmark).
        .executableTarget(name: "AnalyzerBenchmark", dependencies: ["Analyzer", "Events"], path: "bench/AnalyzerBenchmark"),
        // bench/: the OTLP encoders' CPU time per span (swift run -c release OTLPEncodeBenchmark).
        .executableTarget(name: "OTLPEncodeBenchmark", dependencies: ["Analyzer", "ExporterCore"], path: "bench/OTLPEncodeBenchmark"),
        // What the tests that run real programs share: Testbed's runner and namespaces (re-exported), test networks, paths, the root rule.
        .target(name: "TestSupport", dependencies: ["Testbed"], path: "Tests/TestSupport"),
        .testTarget(name: "RedactionTests", dependencies: ["TestSupport", "Redaction"]),
        .testTarget(name: "EventsTests", dependencies: ["TestSupport", "Events", "CPipetraceEvents"]),
        .testTarget(name: "GoBinaryTests", dependencies: ["GoBinary", "TestSupport"]),
        .testTarget(name: "ProbeTests", dependencies: ["TestSupport", "Probe", "Events"], exclude: ["Fixtures"]),
        .testTarget(name: "AnalyzerTests", dependencies: ["TestSupport", "Analyzer", "Events"]),
        .testTarget(name: "ExporterTests", dependencies: ["TestSupport", "Exporter", "ExporterCore", "Analyzer", "Events", "CSnappy"], exclude: ["Fixtures"]),
        .testTarget(name: "CaptureFormatsTests", dependencies: ["CaptureFormats", "Analyzer", "Events"]),
        .testTarget(name: "PacketsTests", dependencies: ["TestSupport", "Packets", "Analyzer", "Events", "Capture"]),
        .testTarget(name: "ReportTests", dependencies: ["TestSupport", "Report", "Analyzer"]),
        .testTarget(name: "TestbedTests", dependencies: ["Testbed", "TestSupport"]),
        .testTarget(name: "TracingTests", dependencies: ["Tracing", "Analyzer", "Events", "Redaction", "Report"]),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Probe", "Analyzer", "Events"], exclude: ["Fixtures"]),
    ]
)

// `make test` builds with PIPETRACE_WERROR=1: a warning in any target of ours
// (not in dependencies) fails the build, so it stays at zero warnings. A
// user's `make run` does not, so a newer compiler's new warning never stops it.
if Context.environment["PIPETRACE_WERROR"] == "1" {
    for target in package.targets where target.type != .system {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-warnings-as-errors"])]
    }
}
