import Foundation
import Glibc
import Probe
import TestSupport
import Testing

extension ProbeTests {
    /// A uprobe on a file shows as int3 (0xCC) in every private mapping of that file, a reader's read-only one too:
    /// a second tracer on the host (another pipetrace, Beyla, bpftrace; a parallel test) put its breakpoints on the
    /// rets of crypto/tls, and the probe then found "no ret instruction" in the binary. It must see the file's bytes.
    @Test("a Go program another tracer already has uprobes in is still found: the second probe reads the file, not breakpoints")
    func goTLSUnderAnotherTracersUprobes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gotls2-\(TestNetwork.uniqueID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A copy of its own: no other test's probe has put breakpoints in it before the first probe here does.
        let binary = directory.appendingPathComponent("victoria-metrics").path
        try FileManager.default.copyItem(atPath: "/usr/bin/victoria-metrics", toPath: binary)
        let server = try Child([binary, "-httpListenAddr", "127.0.0.1:0", "-storageDataPath", directory.appendingPathComponent("data").path])
        defer {
            server.signal(SIGKILL)
            server.wait()
        }
        while let line = server.readErrorLine(), !line.contains("starting http server") {}

        func goLibrary(_ probe: Probe) -> TLSLibrary? {
            probe.tlsLibraries.first { $0.path == binary && $0.processes.contains { $0.pid == server.pid } }
        }
        let first = try Probe(configuration: ProbeConfiguration())
        defer { first.detach() }
        #expect(goLibrary(first) != nil, "\(first.tlsFailures)")
        let second = try Probe(configuration: ProbeConfiguration())
        defer { second.detach() }
        #expect(goLibrary(second) != nil, "\(second.tlsFailures)")
        #expect(!second.tlsFailures.contains { $0.hasPrefix(binary) }, "\(second.tlsFailures)")
    }
}
