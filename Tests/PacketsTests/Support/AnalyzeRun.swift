import Foundation
import Glibc

/// Paths in this repository and beside it, and how to run the built binary.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared/captures/` from the repository root, as CI checks `shared/` out beside the clone.
    static let sharedCaptures = root.deletingLastPathComponent().appendingPathComponent("shared/captures")
    static let prometheusCapture = sharedCaptures.appendingPathComponent("prometheus-nginx-victoriametrics.pcap").path

    /// PIPETRACE_BINARY, else the pipetrace built beside this test bundle (any --scratch-path), else .build/debug.
    static var pipetraceBinary: String {
        if let path = ProcessInfo.processInfo.environment["PIPETRACE_BINARY"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pipetrace").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let scratch = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("pipetrace").path }
        if let scratch, FileManager.default.isExecutableFile(atPath: scratch) { return scratch }
        return root.appendingPathComponent(".build/debug/pipetrace").path
    }

    /// Tools and files beside the repository are required (a failure, not a skip) when PIPETRACE_REQUIRE_ROOT=1, as in CI.
    static var required: Bool { ProcessInfo.processInfo.environment["PIPETRACE_REQUIRE_ROOT"] == "1" }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A finished command: exit status and both outputs.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command to its end, reading both pipes concurrently so neither fills up.
func run(_ command: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // stderr is drained on another thread while stdout is read here.
    final class Box: @unchecked Sendable { var data = Data() }
    let errors = Box()
    let done = DispatchSemaphore(value: 0)
    let handle = err.fileHandleForReading
    Thread.detachNewThread {
        errors.data = handle.readDataToEndOfFile()
        done.signal()
    }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                         stderr: String(decoding: errors.data, as: UTF8.self))
}

/// A scratch file removed with its directory when the test ends.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-analyze-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
