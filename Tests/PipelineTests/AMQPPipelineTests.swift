import Analyzer
import Foundation
import Glibc
import TestSupport
import Testing

/// AMQP 0-9-1 on the real kernel, judged by real peers: a RabbitMQ broker
/// and its own queue counters, pika's own view and clock of what it
/// published and consumed, and tshark's amqp dissector on a capture of the
/// same traffic. One broker for the suite's one run (it takes seconds to start).
@Suite("AMQP through a real RabbitMQ (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct AMQPPipelineTests {
    static let count = 10
    static let handle = 7
    static let delay = 0.02

    @Test("pika in confirm mode and with manual acks: publish → confirm and deliver → ack timed, as pika, RabbitMQ and tshark count them, live and via analyze")
    func publishConsume() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        var capture: (Child, String)?
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startRabbitMQ()
            capture = try pipeline.startCapture("amqp.pcap")
            return try pipeline.startAMQPClients(queue: "jobs", count: Self.count, handle: Self.handle, delay: Self.delay)
        }
        let events = try pipeline.amqpEvents(of: traced.client)
        let path = try pipeline.stopCapture(try #require(capture))
        let records = traced.records.filter { $0.protocolName == "amqp" }.sorted { $0.start < $1.start }
        #expect(records.allSatisfy { $0.side == .both && $0.isComplete },
                "\(records.filter { $0.side != .both || !$0.isComplete }.map(\.json))")

        // Publishes: one record per message pika published, confirmed by the broker, inside pika's own time.
        let published = events.filter { $0.event == "published" }
        let publishes = records.filter { $0.method == "basic.publish" }
        try #require(published.count == Self.count && publishes.count == Self.count, "\(publishes.map(\.json))")
        for (record, event) in zip(publishes, published) {
            #expect(record.attributes["amqp.message_id"] == event.id && record.target == "amq.default/jobs")
            #expect(record.attributes["amqp.body_size"] == "6000") // past the payload cap: its end went uncaptured
            #expect(record.attributes["amqp.reply"] == "basic.ack" && record.outcome == .ok, "\(record.json)")
            #expect(Double(record.duration) / 1e9 <= event.seconds ?? 0, "pipetrace \(record.duration) ns, pika \(event.seconds ?? 0) s")
        }

        // Deliveries: pika's answers, redelivery flags and processing times (its sleep is inside both), by delivery
        // tag. A delivery the broker sent as pika cancelled is one pika hands back itself (a reject with requeue).
        let delivered = events.filter { $0.event == "delivered" }
        let deliveries = records.filter { $0.method == "basic.deliver" }
        try #require(delivered.count == Self.handle, "\(events)")
        let byTag = Dictionary(deliveries.map { ($0.attributes["amqp.delivery_tag"] ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
        var gaps: [Double] = []
        for event in delivered {
            let record = try #require(byTag[event.tag.map(String.init) ?? "?"], "delivery tag \(event.tag ?? 0): \(deliveries.map(\.json))")
            #expect(record.attributes["amqp.reply"] == "basic." + (event.action ?? "?"), "\(record.json)")
            #expect(record.attributes["amqp.message_id"] == event.id)
            #expect((record.attributes["amqp.redelivered"] == "true") == (event.redelivered ?? false))
            #expect(record.attributes["amqp.queue"] == "jobs")
            #expect(Double(record.duration) / 1e9 >= Self.delay, "\(record.json)")
            gaps.append(abs(Double(record.duration) / 1e9 - (event.seconds ?? 0)) * 1000)
        }
        // pika's clock runs from its callback (after the read that pipetrace starts at) to after its ack's write
        // returns (where pipetrace ends): the two intervals are offset by Python's overhead, typically well under 1 ms.
        #expect(gaps.sorted()[gaps.count / 2] <= 1, "|pipetrace - pika|, ms: \(gaps)")
        let handedBack = deliveries.filter { r in !delivered.contains { $0.tag.map(String.init) == r.attributes["amqp.delivery_tag"] } }
        #expect(handedBack.allSatisfy { $0.attributes["amqp.requeue"] == "true" }, "\(handedBack.map(\.json))")
        #expect(deliveries.allSatisfy { ($0.outcome == .ok) == ($0.attributes["amqp.reply"] == "basic.ack") })

        // Publish → deliver chains by message id: every delivery (the redelivery too), and the message taken by
        // basic.get, linked to exactly the publish of its message, live and from the capture file.
        let gotID = try #require(events.first { $0.event == "got" }?.id, "\(events)")
        for (source, all) in [("live", records), ("file", try Self.analyzed(path))] {
            let chains = try Self.chains(all)
            let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let delivered = all.filter { $0.method == "basic.deliver" }
            let got = all.filter { $0.method == "basic.get" && $0.attributes["amqp.reply"] == "basic.get-ok" }
            #expect(chains.count == delivered.count + got.count && delivered.count == deliveries.count && got.count == 1, "\(source)")
            for get in got {
                let chain = try #require(chains[get.id], "\(source): \(get.json)")
                #expect(chain.gotByPolling && chain.processingTime == nil && chain.messageID == gotID && chain.queue == "jobs")
            }
            for delivery in delivered + got {
                let publish = try #require(chains[delivery.id].flatMap { byID[$0.publish.id] }, "\(source): \(delivery.json)")
                #expect(publish.attributes["amqp.message_id"] == delivery.attributes["amqp.message_id"], "\(source)")
                #expect(chains[delivery.id]?.messageID == delivery.attributes["amqp.message_id"], "\(source)")
            }
        }
        // As `analyze` prints them (redaction on by default; a routing key is an address, not a secret, and
        // stays): each delivered message's chain in the hop chains of the slowest requests.
        let text = try Shell.run([Repository.pipetraceBinary, "analyze", path, "--group-by", "target", "--top", "30"])
        let chainLines = text.split(separator: "\n").filter { $0.contains(" ms in broker, ") && $0.hasSuffix(" ms in consumer") }
        for event in delivered {
            #expect(chainLines.contains { $0.contains("amq.default/jobs ") && $0.contains(" \(event.id ?? "?"), ") },
                    "\(event.id ?? "?"): \(text)")
        }
        #expect(text.split(separator: "\n").contains { $0.contains("amq.default/jobs \(gotID), ") && $0.hasSuffix(" ms in broker, got by basic.get") },
                "\(text)")

        // The rest: basic.get, the passive declare the broker refused with 404, the closes.
        #expect(records.contains { $0.method == "basic.get" && $0.attributes["amqp.reply"] == "basic.get-ok" })
        let refused = try #require(records.first { $0.method == "queue.declare" && $0.target == "missing-jobs" })
        #expect(refused.status == 404 && refused.outcome == .clientError && events.contains { $0.code == 404 })

        // RabbitMQ's own count of what is left: published and confirmed, less acked, rejected and got.
        let left = try pipeline.rabbitmqctl(["list_queues", "-q", "--no-table-headers", "name", "messages_ready",
                                             "messages_unacknowledged"])
        let taken = deliveries.filter { $0.attributes["amqp.reply"] == "basic.ack" || $0.attributes["amqp.requeue"] == "false" }.count
            + records.filter { $0.method == "basic.get" && $0.attributes["amqp.reply"] == "basic.get-ok" }.count
        #expect(left.split(whereSeparator: \.isWhitespace) == ["jobs", "\(publishes.count - taken)", "0"], "\(left)")

        // tshark: every method frame that starts or answers an exchange, counted alike.
        let tshark = try TsharkAMQP(capture: path, port: pipeline.amqpPort)
        #expect(tshark.count(60, 40) == publishes.count)
        #expect(tshark.count(60, 80, fromBroker: true) == publishes.count) // one confirm each (pika waits for each)
        #expect(tshark.count(60, 60) == deliveries.count)
        for (m, reply) in [(80, "basic.ack"), (120, "basic.nack"), (90, "basic.reject")] {
            #expect(tshark.count(60, m, fromBroker: false) == deliveries.filter { $0.attributes["amqp.reply"] == reply }.count)
        }
        let synchronous = [(10, 10, "connection.start"), (10, 30, "connection.tune"), (10, 40, "connection.open"),
                           (20, 10, "channel.open"), (50, 10, "queue.declare"), (85, 10, "confirm.select"),
                           (60, 10, "basic.qos"), (60, 20, "basic.consume"), (60, 30, "basic.cancel"), (60, 70, "basic.get"),
                           (20, 40, "channel.close"), (10, 50, "connection.close")]
        for (c, m, name) in synchronous {
            #expect(tshark.count(c, m) == records.filter { $0.method == name }.count, "\(name)")
        }

        // The same capture through `analyze`: the same exchanges.
        let fromFile = try Self.analyzed(path)
        func key(_ r: RequestRecord) -> String { "\(r.method ?? "?") \(r.target ?? "?") \(r.attributes["amqp.reply"] ?? "?")" }
        #expect(fromFile.map(key).sorted() == records.map(key).sorted())
    }

    @Test("a pika publisher without confirms and message ids: each delivery linked to its own publish by fingerprint (its body told apart)")
    func chainsByFingerprint() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let count = 5
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startRabbitMQ()
            return try pipeline.startAMQPClients(queue: "plain", count: count, handle: count, delay: Self.delay, plain: true)
        }
        let delivered = try pipeline.amqpEvents(of: traced.client).filter { $0.event == "delivered" }
        let records = traced.records.filter { $0.protocolName == "amqp" }
        // pika publishes one after another on one channel: the n-th publish record is "job n".
        let publishes = records.filter { $0.method == "basic.publish" }.sorted { $0.start < $1.start }
        try #require(publishes.count == count && delivered.count == count, "\(publishes.map(\.json))")
        #expect(publishes.allSatisfy { $0.attributes["amqp.message_id"] == nil && $0.attributes["amqp.fingerprint"] != nil })
        let chains = try Self.chains(records)
        let deliveries = records.filter { $0.method == "basic.deliver" }
        for event in delivered {
            let record = try #require(deliveries.first { $0.attributes["amqp.delivery_tag"] == event.tag.map(String.init) })
            let n = try #require(event.body.flatMap { Int($0.dropFirst(4)) }, "\(event)")
            #expect(chains[record.id]?.publish.id == publishes[n].id, "\(event.body ?? "?"): \(record.json)")
            #expect(chains[record.id].map { ($0.processingTime ?? 0) >= UInt64(Self.delay * 1e9) && $0.messageID == nil } == true)
        }
    }

    /// `pipetrace analyze --watch` of a capture: its AMQP records.
    static func analyzed(_ path: String) throws -> [RequestRecord] {
        let lines = try Shell.run([Repository.pipetraceBinary, "analyze", path, "--watch"]).split(separator: "\n")
        return try lines.map { try JSONDecoder().decode(RequestRecord.self, from: Data($0.utf8)) }
            .filter { $0.protocolName == "amqp" }
    }

    /// The records' publish → deliver chains by delivery record id, fed to the matcher in the order their
    /// exchanges completed (as the analyzer emits them): one per delivery, none ambiguous, each also a hop chain
    /// (the delivery below its publish, the publish above its deliveries).
    static func chains(_ records: [RequestRecord]) throws -> [UInt64: AMQPChain] {
        var matcher = BrokerChainMatcher()
        var index = HopIndex()
        var chains: [AMQPChain] = []
        for record in records.sorted(by: { $0.start + Int64($0.duration) < $1.start + Int64($1.duration) }) {
            chains += matcher.add(record).compactMap(\.amqp)
            index.add(record)
        }
        #expect(matcher.amqp.ambiguous == 0)
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for chain in chains {
            let above = index.chain(for: try #require(byID[chain.deliver.id])).hops
            #expect(above.first?.record?.id == chain.publish.id && above.first?.amqp == chain)
            #expect(above.last?.record?.id == chain.deliver.id && above.last?.isFocus == true)
            let below = index.chain(for: try #require(byID[chain.publish.id])).hops
            #expect(below.contains { $0.record?.id == chain.deliver.id && $0.depth == 1 && $0.amqp == chain })
        }
        #expect(Set(chains.map(\.deliver.id)).count == chains.count, "a delivery linked twice")
        return Dictionary(chains.map { ($0.deliver.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("attached to a consumer's open connection: recognized by its frames, deliveries paired by the broker's tags")
    func attachedMidConnection() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        try pipeline.startRabbitMQ()
        let marks = pipeline.directory.path
        let consumer = try Child(pipeline.exec(pipeline.backend, ["python3", Repository.amqpClient, "consume",
            pipeline.lbUpstreamAddress, "\(pipeline.amqpPort)", "jobs", "\(Self.handle)", "\(Self.delay)", marks]))
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: marks + "/ready") { usleep(100_000) }
        let traced = try PipelineRun.trace(pipeline) {
            let publish = pipeline.exec(pipeline.client, ["python3", Repository.amqpClient, "publish", pipeline.lbAddress,
                                                          "\(pipeline.amqpPort)", "jobs", "\(Self.count)"])
            // Ends when the consumer has handled its deliveries, so the trace covers them.
            return try Child(["sh", "-c", publish.joined(separator: " ") + " && while [ ! -e \(marks)/done ]; do sleep 0.05; done"])
        }
        _ = try pipeline.amqpEvents(of: traced.client)
        let delivered = try pipeline.amqpEvents(of: consumer).filter { $0.event == "delivered" }
        // A delivery the broker sent as pika cancelled is one pika hands back itself (see publishConsume).
        let deliveries = traced.records.filter { r in
            r.method == "basic.deliver" && delivered.contains { $0.tag.map(String.init) == r.attributes["amqp.delivery_tag"] }
        }.sorted { $0.start < $1.start }
        // The first frame seen on the connection is the broker's first delivery: a response, so the parser starts at
        // the consumer's ack that follows; every later delivery is paired with its answer by its tag, from both ends.
        try #require(delivered.count == Self.handle)
        #expect(deliveries.map { $0.attributes["amqp.delivery_tag"] } == delivered.dropFirst().map { $0.tag.map(String.init) })
        #expect(deliveries.map { $0.attributes["amqp.reply"] } == delivered.dropFirst().map { "basic." + ($0.action ?? "?") })
        #expect(deliveries.allSatisfy { $0.side == .both && $0.isComplete && Double($0.duration) / 1e9 >= Self.delay },
                "\(deliveries.map(\.json))")
        // Unknown before attach, so not guessed: the queue behind the consumer tag.
        #expect(deliveries.allSatisfy { $0.attributes["amqp.queue"] == nil && $0.target == "amq.default/jobs" })
    }
}
