import Analyzer
import Foundation
import Glibc
import TestSupport
import Testing

/// A real OTLP/gRPC client: OpenTelemetry Python's span exporter, retrying
/// what a collector under pressure answers, against a grpcio server of the
/// collector's TraceService. Both report each call themselves.
@Suite("OTLP/gRPC: OpenTelemetry's exporter against a TraceService (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct OTLPPipelineTests {
    static let export = "opentelemetry.proto.collector.trace.v1.TraceService/Export"
    static let port = 4317

    /// What otlp_server.py and otlp_client.py say of one call.
    struct Call: Decodable {
        var code: Int
        var request_bytes: Int
        var start_ns: UInt64
        var duration_ns: UInt64
        var method: String?
        var spans: Int?
    }

    @Test("each Export call the exporter makes, retries of UNAVAILABLE and RESOURCE_EXHAUSTED included, is one record with the server's status, the client's request size and time")
    func exporterRetries() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        var server: Child?
        // Batches of 3, 40 and 1 spans; the first is refused twice before the receiver takes it.
        let traced = try PipelineRun.trace(pipeline) {
            let receiver = try Child(pipeline.exec(pipeline.backend, ["python3", Repository.otlpServer, "\(OTLPPipelineTests.port)",
                                                                      "UNAVAILABLE", "RESOURCE_EXHAUSTED"]))
            pipeline.servers.append(receiver)
            server = receiver
            _ = try receiver.readJSON()
            return try Child(pipeline.exec(pipeline.lb, ["python3", Repository.otlpClient,
                                                         "\(pipeline.backendAddress):\(OTLPPipelineTests.port)", "3", "40", "1"]))
        }
        let output = traced.client.readAll()
        #expect(traced.client.wait() == 0, "\(traced.client.readAllErrors())")
        let lines = output.split(separator: "\n").map { Data($0.utf8) }
        let clientCalls = try lines.filter { !String(decoding: $0, as: UTF8.self).contains("\"batch\"") }
            .map { try JSONDecoder().decode(Call.self, from: $0) }
        #expect(lines.count - clientCalls.count == 3 && output.components(separatedBy: "\"SUCCESS\"").count == 4, "\(output)")
        // Each call's line was written before its answer: all are in the pipe once the client is done.
        let receiver = try #require(server)
        receiver.signal(SIGKILL)
        let serverCalls = try receiver.readAll().split(separator: "\n").map { try JSONDecoder().decode(Call.self, from: Data($0.utf8)) }

        // The server's count and codes: 14 (UNAVAILABLE), 8 (RESOURCE_EXHAUSTED), then 0 for each batch.
        try #require(serverCalls.map(\.code) == [14, 8, 0, 0, 0], "\(serverCalls)")
        #expect(clientCalls.map(\.code) == serverCalls.map(\.code))
        let records = traced.records.filter { $0.hop == "\(pipeline.lb)→\(pipeline.backend)" }.sorted { $0.start < $1.start }
        try #require(records.count == serverCalls.count, "\(traced.records.map(\.json)) \(traced.counters)")
        var gaps: [Double] = []
        for (record, (client, server)) in zip(records, zip(clientCalls, serverCalls)) {
            #expect(record.protocolName == "grpc" && record.method == OTLPPipelineTests.export
                    && record.target == "/" + OTLPPipelineTests.export, "\(record.json)")
            #expect(client.method == "/" + OTLPPipelineTests.export)
            #expect(record.status == server.code && record.outcome == RequestRecord.Outcome(grpcStatus: server.code), "\(record.json)")
            #expect(record.side == .both && record.isComplete, "\(record.json)")
            // Uncompressed: the one request message is the exporter's serialized ExportTraceServiceRequest.
            #expect(record.requestMessages == 1 && record.attributes["grpc.request.message_bytes"] == String(client.request_bytes),
                    "client serialized \(client.request_bytes) bytes: \(record.json)")
            #expect(client.request_bytes == server.request_bytes)
            // The client's clock brackets the call from outside, the server's handler runs inside the server's part.
            #expect(record.duration <= client.duration_ns, "pipetrace \(Double(record.duration) / 1e6) ms, client \(Double(client.duration_ns) / 1e6) ms")
            #expect(record.serverTime ?? 0 >= server.duration_ns, "server handler \(server.duration_ns) ns: \(record.json)")
            #expect(record.serverTime ?? .max <= record.duration)
            gaps.append(Double(client.duration_ns) / 1e6 - Double(record.duration) / 1e6)
        }
        #expect(gaps.sorted()[gaps.count / 2] <= 1, "client minus pipetrace, ms: \(gaps)")
        let spans = serverCalls.compactMap(\.spans)
        #expect(spans == [3, 3, 3, 40, 1])
    }
}
