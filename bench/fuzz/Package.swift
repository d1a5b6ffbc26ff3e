// swift-tools-version: 6.1
// libFuzzer harness for the packet decoder and the TCP reassembler (Sources/Packets, linked in).
// Build and run (see README.md):
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/debug/CaptureFuzzer -max_total_time=60
import PackageDescription

let package = Package(
    name: "pipetrace-fuzz",
    targets: [
        .target(name: "CPipetraceEvents"),
        .target(name: "Events", dependencies: ["CPipetraceEvents"]),
        .target(name: "Packets", dependencies: ["Events"]),
        .executableTarget(name: "CaptureFuzzer", dependencies: ["Packets", "Events"]),
    ]
)
