import TestSupport
import Analyzer
import Events
import Foundation
import Probe

/// One traced run over a `TestPipeline`: the probe is attached before the
/// servers start (a read already blocked when the probe attaches is never
/// seen), the client's requests go through, and every event goes through
/// the analyzer as it arrives. What the analyzer made of it, next to what
/// the client and nginx measured themselves.
struct PipelineRun {
    var records: [RequestRecord] = []
    var timings: [ClientTiming] = []
    var counters = AnalyzerCounters()

    init(_ pipeline: TestPipeline, requests: [(Int, String)], clientPrefix: [String] = [], clientDelay: Double? = nil,
         beforeClient: () throws -> Void = {}) throws {
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startServers()
            try beforeClient()
            return try pipeline.startClient(requests, prefix: clientPrefix, delay: clientDelay)
        }
        records = traced.records
        counters = traced.counters
        timings = try pipeline.timings(of: traced.client)
    }

    /// Attaches the probe to the pipeline's namespaces, runs `start` (which
    /// starts the servers and returns the client), and analyzes every event
    /// until the client ends and a little after.
    static func trace(_ pipeline: TestPipeline, start: () throws -> Child) throws
        -> (records: [RequestRecord], counters: AnalyzerCounters, client: Child) {
        let resolver = ContainerResolver()
        var configuration = ProbeConfiguration()
        configuration.netns = Set([pipeline.client, pipeline.lb, pipeline.backend].compactMap { resolver.netns(named: $0) })
        guard configuration.netns.count == 3 else { throw Shell.Failure(command: ["netns"], status: -1, stderr: "namespaces not found") }
        let probe = try Probe(configuration: configuration, containers: resolver)
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock))
        var records: [RequestRecord] = []
        let feed: (ProbeEvent) -> Void = { records += analyzer.process($0) }
        let client = try start()
        let deadline = Date().addingTimeInterval(60)
        while client.isRunning, Date() < deadline { try probe.poll(timeoutMilliseconds: 50, feed) }
        let settle = Date().addingTimeInterval(0.3)
        while Date() < settle { try probe.poll(timeoutMilliseconds: 50, feed) }
        probe.detach()
        probe.drain(feed)
        records += analyzer.finish()
        return (records, analyzer.counters, client)
    }

    /// The records of one hop ("<client container>→<server container>") for `path`, in request order.
    func hop(_ from: String, _ to: String, path: String) -> [RequestRecord] {
        records.filter { $0.hop == "\(from)→\(to)" && $0.target == path }.sorted { $0.start < $1.start }
    }
}
