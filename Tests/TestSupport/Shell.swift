import Foundation
@_exported import Testbed

/// The tests' names for Testbed's one process runner: `Child` for a running
/// program, `Shell.run` for one run to completion.
public typealias Child = ChildProcess

public enum Shell {
    public typealias Failure = ChildProcess.Failure

    /// Runs a command to completion; throws with its stderr if it fails.
    @discardableResult
    public static func run(_ command: [String]) throws -> String {
        try ChildProcess.check(command)
    }
}

extension ChildProcess {
    /// The next line of standard output parsed as a JSON object.
    public func readJSON() throws -> [String: Any] {
        guard let line = readLine() else { throw Shell.Failure(command: command, status: -1, stderr: readAllErrors()) }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Shell.Failure(command: command, status: -1, stderr: "not a JSON object: \(line)")
        }
        return object
    }
}
