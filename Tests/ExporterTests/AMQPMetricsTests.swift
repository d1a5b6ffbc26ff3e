import Analyzer
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("AMQP series and attributes")
struct AMQPMetricsTests {
    static func record(_ method: String, target: String? = "amq.default/jobs", status: Int? = nil,
                       _ attributes: [String: String]) -> RequestRecord {
        RequestRecord(id: 1, start: 1, duration: 2_000_000, protocolName: "amqp", method: method, target: target,
                      status: status, requestBytes: 1, responseBytes: 1, client: .init(ip: "10.0.0.2"),
                      server: .init(ip: "10.0.0.1", port: 5672), side: .both, attributes: attributes)
    }

    @Test("publishes per exchange and confirm, deliveries per queue and answer, redeliveries, error closes, evictions")
    func series() {
        var metrics = RequestMetrics()
        var store = SeriesStore()
        for reply in ["basic.ack", "basic.ack", "basic.nack"] {
            store.apply(metrics.updates(for: Self.record("basic.publish", ["amqp.exchange": "", "amqp.reply": reply])))
        }
        store.apply(metrics.updates(for: Self.record("basic.publish", ["amqp.exchange": "logs"])))
        store.apply(metrics.updates(for: Self.record("basic.deliver", ["amqp.queue": "jobs", "amqp.reply": "basic.ack"])))
        store.apply(metrics.updates(for: Self.record("basic.deliver", ["amqp.queue": "jobs", "amqp.reply": "basic.reject",
                                                                        "amqp.redelivered": "true", "amqp.evicted": "true"])))
        store.apply(metrics.updates(for: Self.record("channel.close", target: nil, status: 404, [:])))
        store.apply(metrics.updates(for: Self.record("connection.close", target: nil, status: 200, [:])))
        let s = store.timeSeries(at: 1000)
        let value = RequestMetricsTests.value
        #expect(value(s, "pipetrace_amqp_publishes_total", ["exchange": "amq.default", "confirm": "ack"]) == 2)
        #expect(value(s, "pipetrace_amqp_publishes_total", ["exchange": "amq.default", "confirm": "nack"]) == 1)
        #expect(value(s, "pipetrace_amqp_publishes_total", ["exchange": "logs", "confirm": "none"]) == 1)
        #expect(value(s, "pipetrace_amqp_deliveries_total", ["queue": "jobs", "answer": "ack"]) == 1)
        #expect(value(s, "pipetrace_amqp_deliveries_total", ["queue": "jobs", "answer": "reject"]) == 1)
        #expect(value(s, "pipetrace_amqp_redeliveries_total", ["queue": "jobs"]) == 1)
        #expect(value(s, "pipetrace_amqp_error_closes_total", ["method": "channel.close", "reply_code": "404"]) == 1)
        #expect(value(s, "pipetrace_amqp_error_closes_total", ["method": "connection.close"]) == nil)
        #expect(value(s, "pipetrace_amqp_outstanding_evictions_total", [:]) == 1)
    }

    @Test("names past the bound count as other")
    func boundedNames() {
        var metrics = AMQPMetrics(maxNames: 2)
        for name in ["a", "b", "c", "a"] { metrics.add(Self.record("basic.publish", ["amqp.exchange": name])) }
        let exchanges = metrics.takeUpdates().compactMap { $0.labels.first { $0.name == "exchange" }?.value }
        #expect(exchanges == ["a", "b", "other", "a"])
    }

    @Test("OTLP: messaging.* by the semantic conventions, the destination and routing key from the resource")
    func attributes() {
        func of(_ r: RequestRecord) -> [String: OTLPAttribute.Value] {
            Dictionary(uniqueKeysWithValues: OTLPAttribute.of(r).map { ($0.key, $0.value) })
        }
        let publish = of(Self.record("basic.publish", target: "logs/app.error", [:]))
        #expect(publish["messaging.system"] == .string("rabbitmq") && publish["messaging.operation"] == .string("publish"))
        #expect(publish["messaging.destination.name"] == .string("logs"))
        #expect(publish["messaging.rabbitmq.destination.routing_key"] == .string("app.error"))
        #expect(publish["http.request.method"] == nil && publish["url.path"] == nil)
        let deliver = of(Self.record("basic.deliver", [:]))
        #expect(deliver["messaging.operation"] == .string("process") && deliver["messaging.destination.name"] == .string("amq.default"))
        let declare = of(Self.record("queue.declare", target: "jobs", status: 404, [:]))
        #expect(declare["messaging.destination.name"] == .string("jobs") && declare["messaging.operation.name"] == .string("queue.declare"))
        #expect(declare["pipetrace.amqp.reply_code"] == .int(404) && declare["messaging.operation"] == nil)
    }
}
