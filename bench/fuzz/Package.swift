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
    targets: [
        .target(name: "CPipetraceEvents"),
        .target(name: "Events", dependencies: ["CPipetraceEvents"]),
        .target(name: "Packets", dependencies: ["Events"]),
        .executableTarget(name: "CaptureFuzzer", dependencies: ["Packets", "Events"]),
        .target(name: "Analyzer", dependencies: ["Events"]),
        .executableTarget(name: "ParserFuzzer", dependencies: ["Analyzer"]),
    ]
)
