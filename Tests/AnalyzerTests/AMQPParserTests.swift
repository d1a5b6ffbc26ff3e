@testable import Analyzer
import Events
import Testing

func parseAMQP(_ segments: [(Sender, [UInt8])]) -> (events: [ParserEvent], error: ProtocolParseError?) {
    run(AMQPParser.self, segments.map { ($0.0, StreamSegment(bytes: $0.1[...])) })
}

extension [ParserEvent] {
    /// Exchange numbers in the order their requests began.
    var began: [UInt64] { compactMap { if case .requestBegan(let e) = $0 { e } else { nil } } }

    func head(_ exchange: UInt64) -> (method: String?, target: String?)? {
        compactMap { if case .requestHead(exchange, let m, let t, _) = $0 { (method: m, target: t) } else { nil } }.first
    }

    func outcome(_ exchange: UInt64) -> (status: Int?, outcome: RequestRecord.Outcome)? {
        compactMap { if case .outcome(exchange, let s, let o) = $0 { (status: s, outcome: o) } else { nil } }.last
    }

    func ended(_ exchange: UInt64) -> Bool {
        contains { if case .responseEnded(exchange, _, _) = $0 { true } else { false } }
    }
}

@Suite("AMQP parser")
struct AMQPParserTests {
    static let handshake: [(Sender, [UInt8])] = AMQPWire.handshake.map { ($0.client ? .client : .server, $0.bytes) }

    @Test("the handshake's synchronous pairs: the broker's start and tune, the client's open and channel.open")
    func handshake() throws {
        let result = parseAMQP(Self.handshake)
        #expect(result.error == nil)
        let heads = result.events.began.compactMap { result.events.head($0)?.method }
        #expect(heads == ["connection.start", "connection.tune", "connection.open", "channel.open"])
        #expect(result.events.began.allSatisfy { result.events.ended($0) })
        let open = try #require(result.events.began.first { result.events.head($0)?.method == "connection.open" })
        #expect(result.events.head(open)?.target == "/")
        #expect(result.events.attributes(open)["amqp.reply"] == "connection.open-ok")
    }

    @Test("publishes in confirm mode end with the broker's ack per delivery tag, multiple ending all up to it; a nack is the broker's failure")
    func publisherConfirms() {
        var segments = Self.handshake
        segments.append((.client, AMQPWire.method(1, 85, 10, .init().bits(false))))
        segments.append((.server, AMQPWire.method(1, 85, 11)))
        for n in 1...3 { segments.append((.client, AMQPWire.publish(1, exchange: "logs", routingKey: "k\(n)", body: [UInt8(n)]))) }
        segments.append((.server, AMQPWire.ack(1, tag: 2, multiple: true)))
        segments.append((.server, AMQPWire.nack(1, tag: 3)))
        let result = parseAMQP(segments)
        #expect(result.error == nil)
        let publishes = result.events.began.filter { result.events.head($0)?.method == "basic.publish" }
        #expect(publishes.count == 3)
        #expect(publishes.map { result.events.head($0)?.target } == ["logs/k1", "logs/k2", "logs/k3"])
        #expect(publishes.map { result.events.attributes($0)["amqp.delivery_tag"] } == ["1", "2", "3"])
        #expect(publishes.map { result.events.attributes($0)["amqp.reply"] } == ["basic.ack", "basic.ack", "basic.nack"])
        #expect(publishes.map { result.events.outcome($0)?.outcome } == [.ok, .ok, .serverError])
        #expect(result.events.attributes(publishes[0])["amqp.multiple"] == "true")
        #expect(publishes.allSatisfy { result.events.ended($0) })
    }

    @Test("a mandatory publish the broker returns unroutable carries the return's reply code, though the broker then acks it")
    func returned() {
        var segments = Self.handshake
        segments.append((.client, AMQPWire.method(1, 85, 10, .init().bits(false))))
        segments.append((.server, AMQPWire.method(1, 85, 11)))
        segments.append((.client, AMQPWire.publish(1, exchange: "logs", routingKey: "nowhere", body: [1])
                            + AMQPWire.publish(1, exchange: "logs", routingKey: "app", body: [2])))
        segments.append((.server, AMQPWire.method(1, 60, 50, .init().short(312).string("NO_ROUTE").string("logs").string("nowhere"))
                            + AMQPWire.content(1, body: [1]) + AMQPWire.ack(1, tag: 2, multiple: true)))
        let result = parseAMQP(segments)
        #expect(result.error == nil)
        let publishes = result.events.began.filter { result.events.head($0)?.method == "basic.publish" }
        #expect(publishes.map { result.events.outcome($0)?.status } == [312, nil])
        #expect(publishes.map { result.events.outcome($0)?.outcome } == [.clientError, .ok])
        #expect(result.events.attributes(publishes[0])["amqp.returned"] == "NO_ROUTE")
        #expect(publishes.allSatisfy { result.events.ended($0) })
    }

    @Test("a publish without confirms is complete when its content is sent, however many body frames it takes")
    func unconfirmedPublish() throws {
        let body = Array(repeating: UInt8(1), count: 10_000)
        let bytes = AMQPWire.publish(1, routingKey: "q", body: body, messageID: "id-1")
        let result = parseAMQP(Self.handshake + [(.client, bytes)])
        let e = try #require(result.events.began.last)
        #expect(result.events.head(e)?.method == "basic.publish")
        #expect(result.events.head(e)?.target == "amq.default/q")
        #expect(result.events.contains(.requestEnded(exchange: e, bytes: UInt64(bytes.count), at: .currentSegment)))
        #expect(result.events.ended(e))
        #expect(result.events.attributes(e)["amqp.message_id"] == "id-1")
        #expect(result.events.attributes(e)["amqp.body_size"] == "10000")
    }

    @Test("a large message cut by the payload cap (its body's end and frame end uncaptured) is still one publish, confirmed")
    func cutByPayloadCap() throws {
        var segments = Self.handshake.map { ($0.0, StreamSegment(bytes: $0.1[...])) }
        segments.append((.client, StreamSegment(bytes: AMQPWire.method(1, 85, 10, .init().bits(false))[...])))
        segments.append((.server, StreamSegment(bytes: AMQPWire.method(1, 85, 11)[...])))
        for n in 1...2 {
            let publish = AMQPWire.publish(1, routingKey: "big", body: Array(repeating: UInt8(n), count: 3000))
            segments.append((.client, StreamSegment(bytes: publish.prefix(1024), missing: UInt64(publish.count - 1024))))
        }
        segments.append((.server, StreamSegment(bytes: AMQPWire.ack(1, tag: 2, multiple: true)[...])))
        let result = run(AMQPParser.self, segments)
        #expect(result.error == nil)
        let publishes = result.events.began.filter { result.events.head($0)?.method == "basic.publish" }
        #expect(publishes.count == 2 && publishes.allSatisfy { result.events.ended($0) && result.events.outcome($0)?.outcome == .ok })
    }

    @Test("a message's fingerprint (properties, body size, body head) is alike at its publish and its delivery, in frames of any size, and differs with the body")
    func fingerprints() {
        func fingerprint(_ segments: [(Sender, [UInt8])], _ method: String) -> String? {
            let result = parseAMQP(Self.handshake + segments)
            return result.events.began.filter { result.events.head($0)?.method == method }
                .map { result.events.attributes($0)["amqp.fingerprint"] }.first ?? nil
        }
        let body = Array("job 1".utf8) + Array(repeating: UInt8(32), count: 5000)
        let published = fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: body))], "basic.publish")
        #expect(published?.count == 16)
        let delivered = AMQPWire.deliver(1, consumerTag: "c", tag: 1, routingKey: "q", body: body)
        #expect(fingerprint([(.server, delivered)], "basic.deliver") == published)
        // One byte at a time: the body head is gathered across segments.
        #expect(fingerprint(delivered.map { (.server, [$0]) }, "basic.deliver") == published)
        var other = body
        other[4] = UInt8(ascii: "2")
        #expect(fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: other))], "basic.publish") != published)
        // Past the head, bodies are not told apart by it (their size still is).
        other = body
        other[4000] = 0
        #expect(fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: other))], "basic.publish") == published)
        #expect(fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: body + [0]))], "basic.publish") != published)
        #expect(fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: body, messageID: "m"))], "basic.publish") != published)
        #expect(fingerprint([(.client, AMQPWire.publish(1, routingKey: "q", body: []))], "basic.publish")?.count == 16)
    }

    @Test("no fingerprint when the body's head went uncaptured")
    func fingerprintUncaptured() throws {
        var segments = Self.handshake.map { ($0.0, StreamSegment(bytes: $0.1[...])) }
        let publish = AMQPWire.publish(1, routingKey: "q", body: Array(repeating: 7, count: 100))
        // The method frame, the header and the body frame's header, then the body's bytes missing.
        let kept = publish.count - 108 + 7 + 10
        segments.append((.client, StreamSegment(bytes: publish.prefix(kept), missing: UInt64(publish.count - kept))))
        let result = run(AMQPParser.self, segments)
        let e = try #require(result.events.began.last)
        #expect(result.events.head(e)?.method == "basic.publish" && result.events.attributes(e)["amqp.body_size"] == "100")
        #expect(result.events.attributes(e)["amqp.fingerprint"] == nil)
    }

    @Test("a delivery ends with the consumer's ack, nack or reject; redeliveries and requeues are marked; the queue comes from the consumer tag")
    func deliveries() {
        var segments = Self.handshake
        segments.append((.client, AMQPWire.consume(1, queue: "jobs", tag: "")))
        segments.append((.server, AMQPWire.consumeOK(1, tag: "amq.ctag-1")))
        for tag: UInt64 in 1...3 {
            segments.append((.server, AMQPWire.deliver(1, consumerTag: "amq.ctag-1", tag: tag, redelivered: tag == 3,
                                                        routingKey: "jobs", body: Array("job".utf8))))
        }
        segments.append((.client, AMQPWire.ack(1, tag: 1)))
        segments.append((.client, AMQPWire.nack(1, tag: 2, requeue: true)))
        segments.append((.client, AMQPWire.reject(1, tag: 3, requeue: false)))
        let result = parseAMQP(segments)
        #expect(result.error == nil)
        let deliveries = result.events.began.filter { result.events.head($0)?.method == "basic.deliver" }
        #expect(deliveries.count == 3)
        let attributes = deliveries.map { result.events.attributes($0) }
        #expect(attributes.map { $0["amqp.queue"] } == ["jobs", "jobs", "jobs"])
        #expect(attributes.map { $0["amqp.reply"] } == ["basic.ack", "basic.nack", "basic.reject"])
        #expect(attributes.map { $0["amqp.requeue"] } == [nil, "true", "false"])
        #expect(attributes.map { $0["amqp.redelivered"] } == [nil, nil, "true"])
        #expect(deliveries.map { result.events.outcome($0)?.outcome } == [.ok, .clientError, .clientError])
    }

    @Test("a passive declare of a missing queue is refused by channel.close 404: the declare and the close carry the code")
    func refusedByClose() throws {
        var segments = Self.handshake
        segments.append((.client, AMQPWire.queueDeclare(1, "missing", passive: true)))
        segments.append((.server, AMQPWire.channelClose(1, code: 404, text: "NOT_FOUND - no queue 'missing'", cause: (50, 10))))
        segments.append((.client, AMQPWire.method(1, 20, 41)))
        let result = parseAMQP(segments)
        let declare = try #require(result.events.began.first { result.events.head($0)?.method == "queue.declare" })
        #expect(result.events.head(declare)?.target == "missing")
        #expect(result.events.outcome(declare)?.status == 404 && result.events.outcome(declare)?.outcome == .clientError)
        #expect(result.events.attributes(declare)["amqp.reply"] == "channel.close")
        let close = try #require(result.events.began.first { result.events.head($0)?.method == "channel.close" })
        #expect(result.events.outcome(close)?.status == 404 && result.events.outcome(close)?.outcome == .clientError)
        #expect(result.events.attributes(close)["amqp.cause"] == "queue.declare")
        #expect(result.events.ended(close))
    }

    @Test("basic.get answered by get-ok with its content, or by get-empty")
    func get() {
        var segments = Self.handshake
        let get = AMQPWire.method(1, 60, 70, .init().short(0).string("jobs").bits(true))
        segments.append((.client, get))
        segments.append((.server, AMQPWire.method(1, 60, 71, .init().longlong(1).bits(false).string("").string("jobs").long(0))
                            + AMQPWire.content(1, body: Array("x".utf8))))
        segments.append((.client, get))
        segments.append((.server, AMQPWire.method(1, 60, 72, .init().string(""))))
        let result = parseAMQP(segments)
        let gets = result.events.began.filter { result.events.head($0)?.method == "basic.get" }
        #expect(gets.count == 2)
        #expect(gets.map { result.events.attributes($0)["amqp.reply"] } == ["basic.get-ok", "basic.get-empty"])
        #expect(gets.allSatisfy { result.events.ended($0) })
    }

    @Test("attached mid-connection: detected by frame shape, deliveries pair by the broker's tags")
    func midConnection() throws {
        let deliver = AMQPWire.deliver(2, consumerTag: "c", tag: 41, routingKey: "jobs", body: [1, 2])
        let ack = AMQPWire.ack(2, tag: 41)
        #expect(AMQPParser.detect(ack[...]) == .request)
        #expect(AMQPParser.detect(deliver[...]) == .response)
        #expect(AMQPParser.detect(AMQPWire.heartbeat[...]) == .notThisProtocol)
        #expect(AMQPParser.detect((AMQPWire.protocolHeader + AMQPWire.heartbeat)[...]) == .request)
        #expect(AMQPParser.detect(Array("AMQP".utf8 + [1, 1, 0, 9])[...]) == .notThisProtocol) // 0-9 (not 0-9-1)
        let result = parseAMQP([(.server, deliver), (.client, ack)])
        let e = try #require(result.events.began.first)
        #expect(result.events.head(e)?.method == "basic.deliver")
        #expect(result.events.ended(e))
    }

    @Test("exchanges an end starts are numbered alike at both ends when a delivery and a cancel cross on the wire")
    func crossing() {
        let cancel = AMQPWire.method(1, 60, 30, .init().string("c1").bits(false))
        let deliver = AMQPWire.deliver(1, consumerTag: "c1", tag: 9, routingKey: "q", body: [1])
        let clientView = parseAMQP(Self.handshake + [(.client, cancel), (.server, deliver)]).events
        let serverView = parseAMQP(Self.handshake + [(.server, deliver), (.client, cancel)]).events
        func cancelID(_ e: [ParserEvent]) -> UInt64? { e.began.first { e.head($0)?.method == "basic.cancel" } }
        #expect(cancelID(clientView) != nil && cancelID(clientView) == cancelID(serverView))
    }

    @Test("outstanding deliveries are bounded: past the limit the oldest is given up and marked")
    func bounded() {
        var segments: [(Sender, [UInt8])] = []
        for tag in 1...UInt64(AMQPParser.maxOutstanding + 5) {
            segments.append((.server, AMQPWire.deliver(1, consumerTag: "c", tag: tag, routingKey: "q", body: [])))
        }
        let result = parseAMQP(segments)
        let evicted = result.events.filter { if case .attribute(_, "amqp.evicted", _) = $0 { true } else { false } }
        #expect(evicted.count == 5)
    }

    @Test("a closed channel cancels what waited on it")
    func channelClosed() {
        var segments = Self.handshake
        segments.append((.server, AMQPWire.deliver(1, consumerTag: "c", tag: 1, routingKey: "q", body: [1])))
        segments.append((.client, AMQPWire.channelClose(1, code: 200, text: "bye")))
        segments.append((.server, AMQPWire.method(1, 20, 41)))
        let result = parseAMQP(segments)
        let deliver = result.events.began.first { result.events.head($0)?.method == "basic.deliver" }!
        #expect(result.events.outcome(deliver)?.outcome == .cancelled)
        #expect(result.events.ended(deliver))
    }
}
