import Analyzer
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("gRPC records in metrics and spans")
struct GRPCExportTests {
    static func call(status: Int, id: UInt64 = 1) -> RequestRecord {
        var r = record(id: id, ms: 2, method: "demo.Echo/Say", target: "/demo.Echo/Say", status: status)
        r.protocolName = "grpc"
        r.outcome = .init(grpcStatus: status)
        return r
    }

    @Test("status_class is the neutral outcome for gRPC: a gRPC error on HTTP 200 is not 2xx")
    func statusClass() {
        var metrics = RequestMetrics()
        var store = SeriesStore()
        store.apply(metrics.updates(for: Self.call(status: 0)))
        store.apply(metrics.updates(for: Self.call(status: 14, id: 2)))
        store.apply(metrics.updates(for: Self.call(status: 5, id: 3)))
        let s = store.timeSeries(at: 1000)
        let name = "pipetrace_request_duration_seconds_count"
        for (label, count) in [("ok", 1.0), ("server_error", 1), ("client_error", 1)] {
            #expect(RequestMetricsTests.value(s, name, ["status_class": label, "protocol": "grpc", "method": "demo.Echo/Say"]) == count)
        }
        #expect(RequestMetrics.statusClass(record(ms: 1, status: 503)) == "5xx")
    }

    @Test("spans: rpc.* attributes, the full method as name, errors by the RPC conventions")
    func spans() {
        let attributes = Dictionary(uniqueKeysWithValues: OTLPAttribute.of(Self.call(status: 5)).map { ($0.key, $0.value) })
        #expect(attributes["rpc.system"] == .string("grpc"))
        #expect(attributes["rpc.service"] == .string("demo.Echo") && attributes["rpc.method"] == .string("Say"))
        #expect(attributes["rpc.grpc.status_code"] == .int(5))
        #expect(attributes["http.request.method"] == nil && attributes["url.path"] == nil)
        #expect(OTLPTraceRequest.name(Self.call(status: 0)) == "demo.Echo/Say")
        func error(_ status: Int, _ kind: OTLPSpan.Kind) -> String? {
            OTLPTraceRequest.error(OTLPSpan(record: Self.call(status: status), kind: kind, traceID: [], spanID: [], parentSpanID: []))
        }
        #expect(error(0, .client) == nil && error(0, .server) == nil)
        #expect(error(5, .client) == "gRPC status 5" && error(5, .server) == nil) // NOT_FOUND: the caller's fault
        #expect(error(13, .server) == "gRPC status 13")
    }
}
