import Analyzer
import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// A Produce that gave partition 0's batch base offset 40 (5 records) and a Fetch that carried it.
enum KafkaChainRecords {
    static let start: Int64 = 1_700_000_000_000_000_000

    static func record(_ id: UInt64, _ method: String, start: Int64, _ partition: RequestRecord.PartitionActivity) -> RequestRecord {
        var r = RequestRecord(id: id, start: start, duration: 1_000_000, protocolName: "kafka", method: method, target: "events",
                              status: 0, requestBytes: 100, responseBytes: 100, client: .init(ip: "10.0.0.2", port: 40000),
                              server: .init(ip: "10.0.0.1", port: 9092), side: .client,
                              attributes: ["kafka.client_id": "app"])
        r.partitions = [partition]
        return r
    }

    static let produce = {
        var p = RequestRecord.PartitionActivity(topic: "events", partition: 0)
        (p.errorCode, p.baseOffset, p.records) = (0, 40, 5)
        return record(1, "Produce", start: start, p)
    }()

    static let fetch = {
        var p = RequestRecord.PartitionActivity(topic: "events", partition: 0)
        (p.errorCode, p.fetchOffset, p.highWatermark, p.batchOffsets) = (0, 40, 45, [40])
        return record(2, "Fetch", start: start + 3_000_000, p)
    }()
}

@Suite("Kafka chains as OTLP span links")
struct KafkaSpanLinkTests {
    @Test("the fetch's span links to the produce's (its trace and span), with the batch's topic, partition and offset")
    func fetchLinksProduce() throws {
        var linker = SpanLinker(salt: 3)
        let produced = linker.add(KafkaChainRecords.produce, now: 0)
        #expect(produced.count == 1 && produced[0].links.isEmpty)
        let fetched = linker.add(KafkaChainRecords.fetch, now: 1)
        let link = try #require(fetched.first?.links.first)
        #expect(fetched.count == 1 && fetched[0].links.count == 1)
        #expect(link.traceID == produced[0].traceID && link.spanID == produced[0].spanID)
        #expect(fetched[0].traceID != produced[0].traceID)
        let chain = try #require(link.chain.kafka)
        #expect(chain.topic == "events" && chain.partition == 0 && chain.offset == 40)
        #expect(link.operation.description == "publish" && chain.brokerTime == 3_000_000)
    }

    @Test("a fetch completed before its produce: the produce's span links to the fetch's")
    func produceLinksFetch() throws {
        var linker = SpanLinker(salt: 3)
        let fetched = linker.add(KafkaChainRecords.fetch, now: 0)
        let produced = linker.add(KafkaChainRecords.produce, now: 1)
        let link = try #require(produced.first?.links.first)
        #expect(link.spanID == fetched[0].spanID && link.operation.description == "receive")
    }
}

@Suite("Kafka spans, decoded by the opentelemetry-proto package",
       .enabled(if: RootRequirement.enabled(when: OTLPDecoder.available)))
struct KafkaSpanDecodeTests {
    @Test("messaging attributes on the spans, and the link with its messaging attributes on the fetch's")
    func decoded() throws {
        var linker = SpanLinker(salt: 3)
        let spans = linker.add(KafkaChainRecords.produce, now: 0) + linker.add(KafkaChainRecords.fetch, now: 1)
        let decoded = try OTLPDecoder.decode("traces", OTLPTraceRequest(spans: spans).encoded())
        #expect(decoded.count == 2)
        let produce = try #require(decoded.first { $0["span_id"] as? String == hex(linker.spanID(1)) })
        let fetch = try #require(decoded.first { $0["span_id"] as? String == hex(linker.spanID(2)) })
        let pa = try #require(produce["attributes"] as? [String: [String: Any]])
        #expect(pa["messaging.system"]?["string"] as? String == "kafka")
        #expect(pa["messaging.operation"]?["string"] as? String == "publish")
        #expect(pa["messaging.destination.name"]?["string"] as? String == "events")
        #expect(pa["error.type"] == nil && produce["links"] == nil)
        let fa = try #require(fetch["attributes"] as? [String: [String: Any]])
        #expect(fa["messaging.operation"]?["string"] as? String == "receive")
        let links = try #require(fetch["links"] as? [[String: Any]])
        #expect(links.count == 1)
        #expect(links[0]["trace_id"] as? String == hex(linker.traceID(1)))
        #expect(links[0]["span_id"] as? String == hex(linker.spanID(1)))
        let la = try #require(links[0]["attributes"] as? [String: [String: Any]])
        #expect(la["messaging.system"]?["string"] as? String == "kafka")
        #expect(la["messaging.operation"]?["string"] as? String == "publish")
        #expect(la["messaging.destination.name"]?["string"] as? String == "events")
        #expect(la["messaging.destination.partition.id"]?["string"] as? String == "0")
        #expect(la["messaging.kafka.offset"]?["int"] as? Int == 40)
        #expect(la["messaging.batch.message_count"]?["int"] as? Int == 5)
        #expect(la["pipetrace.kafka.broker_ms"]?["double"] as? Double == 3)
    }
}
