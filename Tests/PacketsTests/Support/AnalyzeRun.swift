import Foundation
import Glibc
import TestSupport

extension Repository {
    static let prometheusCapture = sharedCaptures.appendingPathComponent("prometheus-nginx-victoriametrics.pcap").path
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
