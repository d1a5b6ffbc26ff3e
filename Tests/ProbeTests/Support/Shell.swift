import Foundation

/// Runs test commands (ip, iptables, python3) as child processes.
enum Shell {
    struct Failure: Error, CustomStringConvertible {
        let command: [String]
        let status: Int32
        let stderr: String
        var description: String { "`\(command.joined(separator: " "))` exited \(status): \(stderr)" }
    }

    /// Runs a command to completion; throws with its stderr if it fails.
    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let child = try Child(command)
        let out = child.readAll()
        let status = child.wait()
        guard status == 0 else { throw Failure(command: command, status: status, stderr: child.readAllErrors()) }
        return out
    }
}

/// A running child process with its output on pipes.
final class Child {
    let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private var buffered = Data()

    init(_ command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// The next line of standard output (blocking), or nil at its end.
    func readLine() -> String? {
        while true {
            if let newline = buffered.firstIndex(of: 0x0a) {
                let line = buffered[buffered.startIndex..<newline]
                buffered = buffered[(newline + 1)...]
                return String(decoding: line, as: UTF8.self)
            }
            let more = stdout.fileHandleForReading.availableData
            if more.isEmpty {
                if buffered.isEmpty { return nil }
                defer { buffered = Data() }
                return String(decoding: buffered, as: UTF8.self)
            }
            buffered.append(more)
        }
    }

    /// The next line of standard output parsed as a JSON object.
    func readJSON() throws -> [String: Any] {
        guard let line = readLine() else { throw Shell.Failure(command: process.arguments ?? [], status: -1, stderr: readAllErrors()) }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Shell.Failure(command: process.arguments ?? [], status: -1, stderr: "not a JSON object: \(line)")
        }
        return object
    }

    func readAll() -> String {
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        defer { buffered = Data() }
        return String(decoding: buffered + rest, as: UTF8.self)
    }

    func readAllErrors() -> String {
        String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// The standard error pipe, for reading a line at a time.
    var errorHandle: FileHandle { stderr.fileHandleForReading }

    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    var isRunning: Bool { process.isRunning }
}
