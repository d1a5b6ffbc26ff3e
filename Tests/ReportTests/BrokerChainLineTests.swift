import Analyzer
import Report
import Testing

@Suite("Broker chains as watch and hop lines print them")
struct BrokerChainLineTests {
    /// A record of `method` to the default exchange's "jobs" queue with message id m7.
    static func message(_ method: String, _ id: UInt64, start: Int64, duration: UInt64) -> RequestRecord {
        RequestRecord(id: id, start: start, duration: duration, protocolName: "amqp", method: method,
                      target: "amq.default/jobs", status: nil, requestBytes: 100, responseBytes: 20,
                      client: .init(ip: "10.0.0.2", port: 4000),
                      server: .init(ip: "10.0.0.1", port: 5672), side: .both,
                      attributes: ["amqp.exchange": "", "amqp.routing_key": "jobs", "amqp.message_id": "m7"])
    }

    @Test("the delivery that completes an AMQP chain ends its watch line with the publish, time in broker and in consumer")
    func amqpWatchLine() throws {
        var matcher = BrokerChainMatcher()
        #expect(matcher.add(Self.message("basic.publish", 1, start: 1_000_000_000, duration: 1_000_000)).isEmpty)
        let delivery = Self.message("basic.deliver", 2, start: 1_003_100_000, duration: 20_000_000)
        let chains = matcher.add(delivery)
        #expect(chains.count == 1)
        #expect(RecordFormatter.line(delivery, chains: chains).hasSuffix(
            "  publish #1 → deliver #2 amq.default/jobs m7, 3.100 ms in broker, 20.000 ms in consumer  #2\n"))
    }
}
