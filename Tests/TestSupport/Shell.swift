import Foundation
import Glibc

/// Runs test commands (ip, iptables, python3, tshark) as child processes.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public let command: [String]
        public let status: Int32
        public let stderr: String

        public init(command: [String], status: Int32, stderr: String) {
            self.command = command
            self.status = status
            self.stderr = stderr
        }
        public var description: String { "`\(command.joined(separator: " "))` exited \(status): \(stderr)" }
    }

    /// Runs a command to completion; throws with its stderr if it fails.
    @discardableResult
    public static func run(_ command: [String]) throws -> String {
        let child = try Child(command)
        let out = child.readAll()
        let status = child.wait()
        guard status == 0 else { throw Failure(command: command, status: status, stderr: child.readAllErrors()) }
        return out
    }
}

/// A running child process with its output on pipes.
public final class Child {
    public let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private var buffered = Data()
    private var bufferedErrors = Data()

    public init(_ command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Children of the test runner inherit a blocked SIGTERM, so a child
    /// still running at the end of a test is killed outright.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// The next line of standard output (blocking), or nil at its end.
    public func readLine() -> String? {
        Child.nextLine(from: stdout.fileHandleForReading, buffer: &buffered)
    }

    /// The next line of standard error (blocking), or nil at its end.
    public func readErrorLine() -> String? {
        Child.nextLine(from: stderr.fileHandleForReading, buffer: &bufferedErrors)
    }

    private static func nextLine(from handle: FileHandle, buffer: inout Data) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = buffer[(newline + 1)...]
                return String(decoding: line, as: UTF8.self)
            }
            let more = handle.availableData
            if more.isEmpty {
                if buffer.isEmpty { return nil }
                defer { buffer = Data() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(more)
        }
    }

    /// The next line of standard output parsed as a JSON object.
    public func readJSON() throws -> [String: Any] {
        guard let line = readLine() else { throw Shell.Failure(command: process.arguments ?? [], status: -1, stderr: readAllErrors()) }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Shell.Failure(command: process.arguments ?? [], status: -1, stderr: "not a JSON object: \(line)")
        }
        return object
    }

    public func readAll() -> String {
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        defer { buffered = Data() }
        return String(decoding: buffered + rest, as: UTF8.self)
    }

    public func readAllErrors() -> String {
        let rest = stderr.fileHandleForReading.readDataToEndOfFile()
        defer { bufferedErrors = Data() }
        return String(decoding: bufferedErrors + rest, as: UTF8.self)
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    @discardableResult
    public func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }
}
