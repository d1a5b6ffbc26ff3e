import Foundation
import TestSupport

/// Runs a helper program (promtool, protoc, python3) to completion, with
/// bytes on its standard input, and returns what it printed.
enum Command {
    typealias Result = ChildProcess.Result

    static func run(_ arguments: [String], input: [UInt8] = []) throws -> Result {
        try ChildProcess.run(arguments, input: input)
    }

    /// Whether a program is on PATH.
    static func exists(_ name: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(name)"]).status) == 0
    }
}
