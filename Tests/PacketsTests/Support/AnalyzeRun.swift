import Foundation
import Glibc
import TestSupport

extension Repository {
    static let prometheusCapture = sharedCaptures.appendingPathComponent("prometheus-nginx-victoriametrics.pcap").path
}

/// A finished command: exit status and both outputs.
typealias CommandResult = ChildProcess.Result

/// Runs a command to its end (Testbed's runner reads both pipes as they fill).
func run(_ command: [String]) throws -> CommandResult {
    try ChildProcess.run(command)
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
