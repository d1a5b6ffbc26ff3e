import Foundation
import Glibc

/// When tests that need root or an outside program run. `make test` (and so
/// CI) sets PIPETRACE_REQUIRE_ROOT=1: then nothing is skipped, and a missing
/// root or program makes the test fail. Without it, such tests run when they
/// can and are skipped otherwise.
public enum RootRequirement {
    /// CI mode: every test must run.
    public static var strict: Bool { ProcessInfo.processInfo.environment["PIPETRACE_REQUIRE_ROOT"] == "1" }

    /// For tests on the real kernel.
    public static var testsEnabled: Bool { geteuid() == 0 || strict }

    /// For tests that need an outside program or package: run when it is
    /// there, and always in CI mode, where its absence then fails the test.
    public static func enabled(when available: Bool) -> Bool { available || strict }
}

/// Paths in this repository and the programs the tests run.
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A test target's fixture file: `Tests/<target>/Fixtures/<name>`.
    public static func fixture(_ target: String, _ name: String) -> String {
        root.appendingPathComponent("Tests/\(target)/Fixtures/\(name)").path
    }

    /// PIPETRACE_BINARY, else the pipetrace built beside this test bundle
    /// (whatever the --scratch-path), else .build/debug.
    public static var pipetraceBinary: String {
        if let path = ProcessInfo.processInfo.environment["PIPETRACE_BINARY"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("pipetrace").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let scratch = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("pipetrace").path }
        if let scratch, FileManager.default.isExecutableFile(atPath: scratch) { return scratch }
        return root.appendingPathComponent(".build/debug/pipetrace").path
    }

    /// `../shared/captures/` from the repository root: CI checks `shared/` out beside the clone.
    public static let sharedCaptures = root.deletingLastPathComponent().appendingPathComponent("shared/captures")

    /// A program's path on PATH, or nil.
    public static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
