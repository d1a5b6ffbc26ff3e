import Analyzer
import Events
import Foundation
import Probe
import TestSupport

/// Two hosts (a `TestNetwork`) for tests that run Go programs over TLS: a
/// directory of their own with a self-signed certificate (`cert.pem`,
/// `key.pem`), and the probe attached to both hosts before anything starts,
/// its events analyzed as they come. `remove()` (also on deinit) deletes
/// the namespaces and the directory.
final class TracedGoHosts {
    let network: TestNetwork
    let directory: URL
    let probe: Probe
    private var analyzer: Analyzer
    private(set) var records: [RequestRecord] = []

    init(certificateName: String) throws {
        network = try TestNetwork()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gotls-\(TestNetwork.uniqueID())")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Shell.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(certificateName)",
                           "-keyout", directory.appendingPathComponent("key.pem").path, "-out", directory.appendingPathComponent("cert.pem").path])
            let resolver = ContainerResolver()
            var configuration = ProbeConfiguration()
            configuration.netns = Set([network.server, network.client].compactMap { resolver.netns(named: $0) })
            probe = try Probe(configuration: configuration, containers: resolver)
        } catch {
            network.remove()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock))
    }

    deinit { remove() }

    func remove() {
        network.remove()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A file in the directory.
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Analyzes events while `condition` holds, for at most `seconds`.
    func trace(while condition: () -> Bool, seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while condition(), Date() < deadline { try probe.poll(timeoutMilliseconds: 50) { self.records += self.analyzer.process($0) } }
    }

    /// Analyzes what is left (half a second more, then what the ring holds) and detaches.
    func finish() throws {
        try trace(while: { true }, seconds: 0.5)
        probe.detach()
        probe.drain { records += analyzer.process($0) }
        records += analyzer.finish()
    }
}
