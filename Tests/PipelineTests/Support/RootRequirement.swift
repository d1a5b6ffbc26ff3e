import Foundation
import Glibc

// Copied from Tests/ProbeTests/Support (that target's files are someone else's to change):
// the same rule, so `make test` and CI treat both suites alike.

/// Tests that need the real kernel run as root. They are enabled when we
/// are root, and also whenever PIPETRACE_REQUIRE_ROOT=1 (set by `make test`
/// and so by CI): then, not being root makes them fail instead of skipping.
enum RootRequirement {
    static var testsEnabled: Bool {
        geteuid() == 0 || ProcessInfo.processInfo.environment["PIPETRACE_REQUIRE_ROOT"] == "1"
    }
}

/// Paths in this repository.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/PipelineTests/Fixtures")
    static let backend = fixtures.appendingPathComponent("backend.py").path
    static let client = fixtures.appendingPathComponent("client.py").path
    static var pipetraceBinary: String {
        ProcessInfo.processInfo.environment["PIPETRACE_BINARY"] ?? root.appendingPathComponent(".build/debug/pipetrace").path
    }
}
