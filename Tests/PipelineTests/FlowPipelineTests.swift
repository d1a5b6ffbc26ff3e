import Analyzer
import Foundation
import TestSupport
import Testing

/// A protocol pipetrace does not parse, between two namespaces on the real
/// kernel: its connection is a tcp flow whose turns agree with the client's clock.
@Suite("Unparsed protocols as tcp flows (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct FlowPipelineTests {
    @Test("each turn of a line protocol is one tcp record, as long as the client measured it, with its container pair")
    func turns() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let delayMs = 20, count = 5, port = 7000
        let traced = try PipelineRun.trace(pipeline) {
            let server = try Child(pipeline.exec(pipeline.lb, ["python3", Repository.turns, "server", "\(port)", "\(delayMs)"]))
            pipeline.servers.append(server)
            _ = try server.readJSON()
            return try Child(pipeline.exec(pipeline.client, ["python3", Repository.turns, "client", pipeline.lbAddress, "\(port)", "\(count)"]))
        }
        let out = traced.client.readAll()
        #expect(traced.client.wait() == 0)
        let measured = out.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["duration_ns"] as? Int
        }
        let flows = traced.records.filter { $0.protocolName == "tcp" && $0.hop == "\(pipeline.client)→\(pipeline.lb)" }
            .sorted { $0.start < $1.start }
        try #require(measured.count == count && flows.count == count, "\(traced.records.map(\.json))")
        for (record, client) in zip(flows, measured) {
            #expect(record.side == .both && record.isComplete, "\(record.json)")
            #expect(record.duration >= UInt64(delayMs) * 1_000_000)
            #expect(abs(Double(record.duration) - Double(client)) / 1e6 <= 1, "pipetrace \(record.duration) ns, client \(client) ns")
            #expect(record.requestBytes == UInt64("PING \(record.attributes["tcp.turn"].flatMap { Int($0) }.map { $0 - 1 } ?? 0)\n".utf8.count))
        }
    }
}
