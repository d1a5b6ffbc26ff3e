@testable import Analyzer
import Testing

/// An AMQP publish or delivery record (id `id`, at `start`, `duration` long) to the default exchange and `queue`.
func amqpMessage(_ method: String, _ id: UInt64, start: Int64, duration: UInt64 = 1_000_000, queue: String = "jobs",
                 messageID: String? = nil, fingerprint: String? = nil) -> RequestRecord {
    var attributes = ["amqp.exchange": "", "amqp.routing_key": queue]
    attributes["amqp.message_id"] = messageID
    attributes["amqp.fingerprint"] = fingerprint
    if method == "basic.deliver" { attributes["amqp.queue"] = queue }
    if method == "basic.get" { attributes["amqp.reply"] = "basic.get-ok" }
    return RequestRecord(id: id, start: start, duration: duration, protocolName: "amqp", method: method,
                         target: method == "basic.get" ? queue : "amq.default/\(queue)", status: nil, requestBytes: 100, responseBytes: 20,
                         client: .init(pid: nil, comm: nil, container: nil, ip: "10.0.0.2", port: 4000),
                         server: .init(pid: nil, comm: nil, container: nil, ip: "10.0.0.1", port: 5672),
                         side: .both, attributes: attributes)
}

@Suite("AMQP publish → broker → consumer chains")
struct AMQPChainTests {
    @Test("a delivery is chained to the publish of its message id, with its time in the broker and the consumer's processing time")
    func byMessageID() throws {
        var matcher = AMQPChainMatcher()
        #expect(matcher.add(amqpMessage("basic.publish", 1, start: 1_000_000_000, messageID: "m0", fingerprint: "a")).isEmpty)
        #expect(matcher.add(amqpMessage("basic.publish", 2, start: 1_001_000_000, messageID: "m1", fingerprint: "a")).isEmpty)
        let chains = matcher.add(amqpMessage("basic.deliver", 3, start: 1_004_000_000, duration: 20_000_000, messageID: "m1",
                                             fingerprint: "a"))
        let chain = try #require(chains.first)
        #expect(chains.count == 1 && chain.publish.id == 2 && chain.deliver.id == 3)
        #expect(chain.messageID == "m1" && chain.exchange == "" && chain.routingKey == "jobs" && chain.queue == "jobs")
        #expect(chain.brokerTime == 3_000_000 && chain.processingTime == 20_000_000)
        // Delivered again (requeued): another chain to the same publish. Another queue's m1 is another message.
        #expect(matcher.add(amqpMessage("basic.deliver", 4, start: 1_030_000_000, messageID: "m1")).map(\.publish.id) == [2])
        #expect(matcher.add(amqpMessage("basic.deliver", 5, start: 1_030_000_000, queue: "other", messageID: "m1")).isEmpty)
        #expect(matcher.ambiguous == 0)
    }

    @Test("a message a consumer polled for (basic.get answered by get-ok) is chained to its publish, without a processing time")
    func byGet() throws {
        var matcher = AMQPChainMatcher()
        #expect(matcher.add(amqpMessage("basic.publish", 1, start: 1_000_000_000, messageID: "m0")).isEmpty)
        let chain = try #require(matcher.add(amqpMessage("basic.get", 2, start: 1_500_000_000, messageID: "m0")).first)
        #expect(chain.publish.id == 1 && chain.deliver.id == 2 && chain.gotByPolling && chain.queue == "jobs")
        #expect(chain.brokerTime == 500_000_000 && chain.processingTime == nil)
        // A get answered with get-empty carries no message.
        var empty = amqpMessage("basic.get", 3, start: 1_600_000_000, messageID: "m0")
        empty.attributes["amqp.reply"] = "basic.get-empty"
        #expect(matcher.add(empty).isEmpty && !BrokerChainMatcher.mayLink(empty))
    }

    @Test("without message ids, by fingerprint; a delivery completed before its confirmed publish is chained when the publish comes")
    func byFingerprint() throws {
        var matcher = AMQPChainMatcher()
        #expect(matcher.add(amqpMessage("basic.deliver", 2, start: 1_002_000_000, fingerprint: "f1")).isEmpty)
        let chain = try #require(matcher.add(amqpMessage("basic.publish", 1, start: 1_000_000_000, fingerprint: "f1")).first)
        #expect(chain.publish.id == 1 && chain.deliver.id == 2 && chain.messageID == nil && chain.brokerTime == 2_000_000)
        #expect(matcher.add(amqpMessage("basic.deliver", 3, start: 1_003_000_000, fingerprint: "f2")).isEmpty)
        // Neither id nor fingerprint (the message's properties or body head went uncaptured): not matched.
        #expect(matcher.add(amqpMessage("basic.publish", 4, start: 1_004_000_000)).isEmpty)
        #expect(matcher.add(amqpMessage("basic.deliver", 5, start: 1_005_000_000)).isEmpty)
    }

    @Test("two publishes that cannot be told apart are never linked: their deliveries stay unlinked and are counted")
    func ambiguous() {
        var matcher = AMQPChainMatcher()
        // Two identical messages without ids: one fingerprint.
        _ = matcher.add(amqpMessage("basic.publish", 1, start: 0, fingerprint: "same"))
        _ = matcher.add(amqpMessage("basic.publish", 2, start: 1, fingerprint: "same"))
        #expect(matcher.add(amqpMessage("basic.deliver", 3, start: 2, fingerprint: "same")).isEmpty)
        #expect(matcher.add(amqpMessage("basic.deliver", 4, start: 3, fingerprint: "same")).isEmpty)
        #expect(matcher.ambiguous == 2)
        // A second publish alike after the first one's delivery was linked: later deliveries of either are not.
        _ = matcher.add(amqpMessage("basic.publish", 5, start: 10, messageID: "dup"))
        #expect(matcher.add(amqpMessage("basic.deliver", 6, start: 11, messageID: "dup")).map(\.publish.id) == [5])
        _ = matcher.add(amqpMessage("basic.publish", 7, start: 12, messageID: "dup"))
        #expect(matcher.add(amqpMessage("basic.deliver", 8, start: 13, messageID: "dup")).isEmpty)
        #expect(matcher.ambiguous == 3)
        // A message told apart from the rest still links.
        _ = matcher.add(amqpMessage("basic.publish", 9, start: 14, messageID: "other"))
        #expect(matcher.add(amqpMessage("basic.deliver", 10, start: 15, messageID: "other")).map(\.publish.id) == [9])
    }

    @Test("bounded: a window of messages per destination, destinations past the limit evicted and counted")
    func bounded() {
        var matcher = AMQPChainMatcher(maxDestinations: 2, messagesPerDestination: 2)
        for n in 0..<3 { _ = matcher.add(amqpMessage("basic.publish", UInt64(n + 1), start: Int64(n), messageID: "m\(n)")) }
        // m0 was pushed out of the queue's window by m2.
        #expect(matcher.add(amqpMessage("basic.deliver", 10, start: 5, messageID: "m0")).isEmpty)
        #expect(matcher.add(amqpMessage("basic.deliver", 11, start: 5, messageID: "m2")).map(\.publish.id) == [3])
        for q in 0..<4 { _ = matcher.add(amqpMessage("basic.publish", UInt64(20 + q), start: 6, queue: "q\(q)", messageID: "x")) }
        #expect(matcher.published.partitionCount == 2 && matcher.destinationsEvicted >= 3)
    }
}
