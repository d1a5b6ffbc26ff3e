import Analyzer
import Capture
import Events
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

/// What `pipetrace analyze FILE --watch` prints, computed in-process: each
/// record as a JSON line, the summary line, status 1 if the file was cut short.
func analyzeWatch(_ path: String) throws -> CaptureAnalysisOutput {
    var analysis = CaptureAnalysis()
    var lines: [UInt8] = []
    analysis.run(try openCaptureFile(path)) { record in
        var w = JSONWriter()
        record.writeJSON(into: &w)
        w.newline()
        lines += w.bytes
    }
    return CaptureAnalysisOutput(status: analysis.readError == nil ? 0 : 1, stdout: String(decoding: lines, as: UTF8.self),
                                 stderr: analysis.summary + (analysis.readError ?? ""))
}

struct CaptureAnalysisOutput {
    var status: Int32
    var stdout: String
    var stderr: String
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
