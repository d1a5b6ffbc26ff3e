@testable import Analyzer
import Events
import Testing

func parseKafka(_ segments: [(Sender, [UInt8])]) -> (events: [ParserEvent], error: ProtocolParseError?) {
    run(KafkaParser.self, segments.map { ($0.0, StreamSegment(bytes: $0.1[...])) })
}

extension [ParserEvent] {
    func partitions(_ exchange: UInt64) -> [RequestRecord.PartitionActivity]? {
        compactMap { if case .partitions(exchange, let p) = $0 { p } else { nil } }.last
    }

    func attributes(_ exchange: UInt64) -> [String: String] {
        var all: [String: String] = [:]
        for event in self {
            if case .attribute(exchange, let key, let value) = event { all[key] = value }
            if case .attributes(exchange, let replaced) = event { all = replaced }
        }
        return all
    }
}

@Suite("Kafka parser")
struct KafkaParserTests {
    @Test("Produce v7: API, topic, acks, records counted from the batch header; the response's base offset, error and throttle")
    func produce() throws {
        let result = parseKafka([(.client, KafkaWire.produce(correlation: 7, partitions: [(0, 5), (3, 2)])),
                                 (.server, KafkaWire.produceResponse(correlation: 7, partitions: [(0, 0, 42), (3, 0, 9)],
                                                                     throttle: 15))])
        #expect(result.error == nil)
        let events = result.events
        #expect(events.first == .requestBegan(exchange: 7))
        #expect(events.contains(.requestHead(exchange: 7, method: "Produce", target: "events", protocolName: "kafka")))
        #expect(events.contains(.outcome(exchange: 7, status: 0, outcome: .ok)))
        #expect(events.attributes(7) == ["kafka.api_version": "7", "kafka.client_id": "app", "kafka.acks": "-1",
                                         "kafka.throttle_ms": "15"])
        let p = try #require(events.partitions(7))
        #expect(p.map(\.partition) == [0, 3])
        #expect(p.map(\.records) == [5, 2])
        #expect(p.map(\.baseOffset) == [42, 9])
        #expect(p.map(\.errorCode) == [0, 0])
        #expect(p[0].bytes == 81)
        #expect(events.last == .responseEnded(exchange: 7, bytes: UInt64(KafkaWire.produceResponse(correlation: 7,
            partitions: [(0, 0, 42), (3, 0, 9)]).count), at: .currentSegment))
    }

    @Test("flexible versions (Produce v9, Fetch v12, Heartbeat v4): compact fields and tagged fields read alike")
    func flexible() throws {
        let produce = parseKafka([(.client, KafkaWire.produce(correlation: 1, version: 9)),
                                  (.server, KafkaWire.produceResponse(correlation: 1, version: 9,
                                                                      partitions: [(0, 6, -1)]))]).events
        #expect(produce.contains(.requestHead(exchange: 1, method: "Produce", target: "events", protocolName: "kafka")))
        #expect(produce.contains(.outcome(exchange: 1, status: 6, outcome: .serverError))) // NOT_LEADER_OR_FOLLOWER
        #expect(produce.partitions(1)?.first?.records == 5)
        #expect(produce.partitions(1)?.first?.batchOffsets == [], "a producer's batch has no offset yet")

        let fetch = parseKafka([(.client, KafkaWire.fetch(correlation: 2, version: 12)),
                                (.server, KafkaWire.fetchResponse(correlation: 2, version: 12,
                                                                  partitions: [(0, 0, 50, [(40, 4), (44, 6)])]))]).events
        let p = try #require(fetch.partitions(2)?.first)
        #expect(p.fetchOffset == 40 && p.highWatermark == 50 && p.lastStableOffset == 50)
        #expect(p.records == 10 && p.batchOffsets == [40, 44])

        let heartbeat = parseKafka([(.client, KafkaWire.heartbeat(correlation: 3)),
                                    (.server, KafkaWire.errorResponse(correlation: 3, error: 27, flexible: true))]).events
        #expect(heartbeat.contains(.requestHead(exchange: 3, method: "Heartbeat", target: "readers", protocolName: "kafka")))
        #expect(heartbeat.contains(.outcome(exchange: 3, status: 27, outcome: .clientError))) // REBALANCE_IN_PROGRESS
        #expect(heartbeat.attributes(3)["kafka.group_id"] == "readers")
    }

    @Test("ApiVersions v3 is answered with response header v0 (no tagged fields)")
    func apiVersions() {
        let events = parseKafka([(.client, KafkaWire.apiVersions(correlation: 1)),
                                 (.server, KafkaWire.apiVersionsResponse(correlation: 1))]).events
        #expect(events.contains(.requestHead(exchange: 1, method: "ApiVersions", target: nil, protocolName: "kafka")))
        #expect(events.contains(.outcome(exchange: 1, status: 0, outcome: .ok)))
        #expect(events.attributes(1)["kafka.malformed"] == nil)
    }

    @Test("a response's partitions merge into the request's by topic and partition, in its order or not; one not asked for is added")
    func partitionsMerged() throws {
        let result = parseKafka([
            (.client, KafkaWire.produce(correlation: 7, partitions: [(0, 5), (3, 2)])),
            (.client, KafkaWire.produce(correlation: 8, partitions: [(0, 5), (3, 2)])),
            // Out of the request's order, the first one failed (NOT_LEADER_OR_FOLLOWER), one more.
            (.server, KafkaWire.produceResponse(correlation: 7, partitions: [(3, 0, 9), (0, 6, -1), (7, 0, 11)])),
            // In the request's order, then one more.
            (.server, KafkaWire.produceResponse(correlation: 8, partitions: [(0, 0, 42), (3, 0, 9), (7, 0, 11)])),
        ])
        #expect(result.error == nil)
        let out = try #require(result.events.partitions(7))
        #expect(out.map(\.partition) == [0, 3, 7])
        #expect(out.map(\.baseOffset) == [-1, 9, 11])
        #expect(out.map(\.errorCode) == [6, 0, 0])
        #expect(out.map(\.records) == [5, 2, nil])
        #expect(result.events.contains(.outcome(exchange: 7, status: 6, outcome: .serverError)))
        let inOrder = try #require(result.events.partitions(8))
        #expect(inOrder.map(\.partition) == [0, 3, 7])
        #expect(inOrder.map(\.baseOffset) == [42, 9, 11])
        #expect(inOrder.map(\.records) == [5, 2, nil])
        #expect(result.events.contains(.outcome(exchange: 8, status: 0, outcome: .ok)))
    }

    @Test("pipelined requests pair with their responses by correlation id, whatever the order of the answers")
    func pipelined() {
        let requests = KafkaWire.produce(correlation: 10) + KafkaWire.joinGroup(correlation: 11)
            + KafkaWire.fetch(correlation: 12)
        let events = parseKafka([
            (.client, requests),
            (.server, KafkaWire.fetchResponse(correlation: 12, partitions: [(0, 0, 40, [])])),
            (.server, KafkaWire.errorResponse(correlation: 11, error: 79)), // MEMBER_ID_REQUIRED
            (.server, KafkaWire.produceResponse(correlation: 10)),
        ]).events
        let ended = events.compactMap { if case .responseEnded(let e, _, _) = $0 { e } else { nil } }
        #expect(ended == [12, 11, 10])
        #expect(events.contains(.outcome(exchange: 11, status: 79, outcome: .clientError)))
        #expect(events.contains(.requestHead(exchange: 11, method: "JoinGroup", target: "readers", protocolName: "kafka")))
        #expect(events.partitions(12)?.first?.records == 0)
        #expect(events.attributes(12)["kafka.long_poll"] == "true")
    }

    @Test("a Produce with acks=0 is complete when sent: no response will come")
    func acksZero() {
        let events = parseKafka([(.client, KafkaWire.produce(correlation: 5, acks: 0))]).events
        #expect(events.last == .responseEnded(exchange: 5, bytes: 0, at: .currentSegment))
    }

    @Test("a Fetch without min bytes is no long poll")
    func notLongPoll() {
        let events = parseKafka([(.client, KafkaWire.fetch(correlation: 1, minBytes: 0))]).events
        #expect(events.attributes(1)["kafka.long_poll"] == nil)
        #expect(events.attributes(1)["kafka.max_wait_ms"] == "500")
    }

    @Test("records past the payload cap are skipped by length: the next partition's high watermark is still read")
    func uncapturedRecords() throws {
        let response = KafkaWire.fetchResponse(correlation: 4, partitions: [(0, 0, 100, [(90, 10)]), (1, 0, 7, [(6, 1)])])
        // The first partition's batch (from its records length on) goes uncaptured, the rest arrives.
        let header = 4 + 4 + 4 + 2 + 4 + 4 + 2 + 6 + 4 + 4 + 2 + 8 + 8 + 8 + 4 + 4
        let batch = KafkaWire.batch(baseOffset: 90, records: 10).count
        let segments: [(Sender, StreamSegment)] = [
            (.client, StreamSegment(bytes: KafkaWire.fetch(correlation: 4, partitions: [(0, 90), (1, 6)])[...])),
            (.server, StreamSegment(bytes: response[..<header], missing: UInt64(batch))),
            (.server, StreamSegment(bytes: response[(header + batch)...])),
        ]
        let result = run(KafkaParser.self, segments)
        #expect(result.error == nil)
        let p = try #require(result.events.partitions(4))
        #expect(p.map(\.highWatermark) == [100, 7])
        #expect(p.map(\.records) == [nil, 1])
        #expect(p.map(\.fetchOffset) == [90, 6])
    }

    @Test("detection: a request header is Kafka; text, a bad size, an unknown API key or a binary client id are not")
    func detection() {
        #expect(KafkaParser.detect(KafkaWire.produce(correlation: 1)[...]) == .request)
        #expect(KafkaParser.detect(KafkaWire.produce(correlation: 1).prefix(9)) == .needMoreBytes)
        #expect(KafkaParser.detect(Array("GET / HTTP/1.1\r\n".utf8)[...]) == .notThisProtocol)
        var unknownKey = KafkaWire.produce(correlation: 1)
        unknownKey[5] = 200
        #expect(KafkaParser.detect(unknownKey[...]) == .notThisProtocol)
        var binaryClient = KafkaWire.produce(correlation: 1)
        binaryClient[14] = 0x01
        #expect(KafkaParser.detect(binaryClient[...]) == .notThisProtocol)
    }

    @Test("an API key this version does not decode is named or \"unknown\"; a response to a request from before attach is skipped")
    func unknownAndUnpaired() {
        let newer = KafkaWire.request(key: 200, version: 0, correlation: 3) { $0.int32(1) }
        let events = parseKafka([(.server, KafkaWire.produceResponse(correlation: 99)), (.client, newer),
                                 (.server, KafkaWire.response(correlation: 3) { $0.int16(0) })]).events
        #expect(events.first == .requestBegan(exchange: 3))
        #expect(events.contains(.requestHead(exchange: 3, method: "unknown", target: nil, protocolName: "kafka")))
        #expect(events.attributes(3)["kafka.api_key"] == "200")
        #expect(!events.contains { if case .responseEnded(99, _, _) = $0 { true } else { false } })
    }

    @Test("a size prefix lost to the payload cap loses the framing; a size past the limit is malformed")
    func framingErrors() {
        let lost = run(KafkaParser.self, [(.client, StreamSegment(bytes: [0, 0][...], missing: 30))])
        #expect(lost.error == .framingLost)
        let huge = parseKafka([(.client, [0x7F, 0xFF, 0xFF, 0xFF, 0, 0])])
        #expect(huge.error != nil)
    }
}
