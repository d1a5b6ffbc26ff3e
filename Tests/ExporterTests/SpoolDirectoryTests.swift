import Foundation
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Spool directory")
struct SpoolDirectoryTests {
    private func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
    }

    @Test("the spool and its parents are created 0700 and each batch 0600; an open directory is closed to others")
    func privateModes() throws {
        let root = NSTemporaryDirectory() + "pipetrace-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var spool = try SpoolDirectory(directory: root + "/a/b", limits: .init())
        #expect(try mode(root) == 0o700 && mode(root + "/a") == 0o700 && mode(root + "/a/b") == 0o700)
        _ = try spool.append(ExportBatch(sequence: 1, body: Array("batch".utf8), points: 1))
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/a/b")
        #expect(files.count == 1)
        for f in files { #expect(try mode(root + "/a/b/" + f) == 0o600, "\(f)") }
        #expect(try spool.oldest()?.body == Array("batch".utf8))

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/a/b")
        let reopened = try SpoolDirectory(directory: root + "/a/b", limits: .init())
        #expect(try mode(root + "/a/b") == 0o700 && reopened.count == 1)
    }

    @Test("a spool path that is a file is refused with its name")
    func notADirectory() throws {
        let path = NSTemporaryDirectory() + "pipetrace-spool-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SpoolDirectory.Failure.self) { try SpoolDirectory(directory: path, limits: .init()) }
    }
}
