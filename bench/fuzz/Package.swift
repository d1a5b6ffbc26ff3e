// swift-tools-version: 6.1
// libFuzzer harnesses: the packet decoder and the TCP reassembler (Sources/Packets), and the
// protocol parsers (Sources/Analyzer), linked in.
// Build and run (see README.md):
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/debug/CaptureFuzzer -max_total_time=60
//   .build/debug/ParserFuzzer -max_total_time=60
import PackageDescription

let package = Package(
    name: "pipetrace-fuzz",
    dependencies: [
        // The export configuration's YAML parser, and what the ExporterCore module links.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .target(name: "CPipetraceEvents"),
        .target(name: "Events", dependencies: ["CPipetraceEvents"]),
        .target(name: "Packets", dependencies: ["Events"]),
        .executableTarget(name: "CaptureFuzzer", dependencies: ["Packets", "Events"]),
        // The probe's event decoder, the capture file readers and the export configuration
        // (`make fuzz`, and briefly in `make test`; see README.md).
        .target(name: "FuzzDriver"),
        .executableTarget(name: "EventDecoderFuzzer", dependencies: ["Events", "CPipetraceEvents", "FuzzDriver"]),
        .target(name: "CLibPcap", linkerSettings: [.linkedLibrary("pcap")]),
        .executableTarget(name: "PcapReaderFuzzer", dependencies: ["CLibPcap", "Packets", "Events", "FuzzDriver"]),
        .target(name: "Redaction", dependencies: ["Events"]),
        .target(name: "Analyzer", dependencies: ["Events", "Redaction"]),
        .target(name: "CaptureFormats", dependencies: ["Events", "Analyzer", "Packets", "Redaction"]),
        .executableTarget(name: "TraceeJSONFuzzer", dependencies: ["CaptureFormats", "Packets", "Events", "FuzzDriver"]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy"),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal"),
        // The Exporter's pure core only: the configuration parser needs no sockets or TLS.
        .target(name: "ExporterCore", dependencies: ["Analyzer", "CSnappy", "CISAL",
                                                     .product(name: "Prometheus", package: "swift-prometheus"),
                                                     .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "ExportConfigurationFuzzer", dependencies: ["ExporterCore", "FuzzDriver"]),
        .executableTarget(name: "ParserFuzzer", dependencies: ["Analyzer"]),
    ]
)
