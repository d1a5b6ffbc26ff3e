/// Kafka messages built byte by byte for tests (a class, so that writes chain), as the protocol guide
/// (kafka.apache.org/protocol) lays them out: classic and flexible
/// (compact, tagged) encodings, record batch v2 headers.
final class KafkaWire {
    var flexible: Bool
    var bytes: [UInt8] = []

    init(flexible: Bool = false) { self.flexible = flexible }

    @discardableResult func int8(_ v: Int8) -> KafkaWire { bytes.append(UInt8(bitPattern: v)); return self }
    @discardableResult func int16(_ v: Int16) -> KafkaWire { put(UInt64(UInt16(bitPattern: v)), 2) }
    @discardableResult func int32(_ v: Int32) -> KafkaWire { put(UInt64(UInt32(bitPattern: v)), 4) }
    @discardableResult func int64(_ v: Int64) -> KafkaWire { put(UInt64(bitPattern: v), 8) }

    private func put(_ v: UInt64, _ n: Int) -> KafkaWire {
        for i in (0..<n).reversed() { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        return self
    }

    @discardableResult func uvarint(_ v: UInt32) -> KafkaWire {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
        return self
    }

    @discardableResult func string(_ s: String?) -> KafkaWire {
        guard let s else { return flexible ? uvarint(0) : int16(-1) }
        if flexible { uvarint(UInt32(s.utf8.count + 1)) } else { int16(Int16(s.utf8.count)) }
        bytes += Array(s.utf8)
        return self
    }

    @discardableResult func count(_ n: Int) -> KafkaWire {
        flexible ? uvarint(UInt32(n + 1)) : int32(Int32(n))
    }

    @discardableResult func blob(_ b: [UInt8]) -> KafkaWire {
        count(b.count)
        bytes += b
        return self
    }

    /// No tagged fields (flexible versions only).
    @discardableResult func tags() -> KafkaWire { flexible ? uvarint(0) : self }

    /// A record batch (magic 2) of `records` records, `bodyBytes` bytes after its 61-byte header.
    static func batch(baseOffset: Int64, records: Int32, bodyBytes: Int = 20) -> [UInt8] {
        let w = KafkaWire()
        w.int64(baseOffset).int32(Int32(49 + bodyBytes)).int32(0).int8(2).int32(0).int16(0)
            .int32(records - 1).int64(1_700_000_000_000).int64(1_700_000_000_000).int64(-1).int16(-1).int32(-1)
            .int32(records)
        return w.bytes + [UInt8](repeating: 0x61, count: bodyBytes)
    }

    /// A whole request: size, header v1 (v2 when flexible), body.
    static func request(key: Int16, version: Int16, correlation: Int32, clientID: String? = "app",
                        flexible: Bool = false, _ body: (KafkaWire) -> Void) -> [UInt8] {
        let w = KafkaWire()
        w.int16(key).int16(version).int32(correlation).string(clientID)
        w.flexible = flexible
        w.tags()
        body(w)
        return sized(w.bytes)
    }

    /// A whole response: size, correlation id, header tags when flexible, body.
    static func response(correlation: Int32, flexible: Bool = false, headerTags: Bool? = nil,
                         _ body: (KafkaWire) -> Void) -> [UInt8] {
        let w = KafkaWire(flexible: flexible)
        w.int32(correlation)
        if headerTags ?? flexible { w.tags() }
        body(w)
        return sized(w.bytes)
    }

    static func sized(_ b: [UInt8]) -> [UInt8] {
        let w = KafkaWire()
        w.int32(Int32(b.count))
        return w.bytes + b
    }

    // MARK: Messages the tests use

    /// Produce v7 (classic) or v9 (flexible) of one batch per partition.
    static func produce(correlation: Int32, version: Int16 = 7, acks: Int16 = -1, topic: String = "events",
                        partitions: [(Int32, Int32)] = [(0, 5)]) -> [UInt8] {
        let flexible = version >= 9
        return request(key: 0, version: version, correlation: correlation, flexible: flexible) { w in
            w.string(nil).int16(acks).int32(30_000).count(1).string(topic).count(partitions.count)
            for (partition, records) in partitions {
                w.int32(partition).blob(batch(baseOffset: 0, records: records)).tags()
            }
            w.tags().tags()
        }
    }

    static func produceResponse(correlation: Int32, version: Int16 = 7, topic: String = "events",
                                partitions: [(Int32, Int16, Int64)] = [(0, 0, 42)], throttle: Int32 = 0) -> [UInt8] {
        let flexible = version >= 9
        return response(correlation: correlation, flexible: flexible) { w in
            w.count(1).string(topic).count(partitions.count)
            for (partition, error, base) in partitions {
                w.int32(partition).int16(error).int64(base).int64(-1).int64(0)
                if version >= 8 { w.count(0).string(nil) }
                w.tags()
            }
            w.tags().int32(throttle).tags()
        }
    }

    /// Fetch v10 (classic) or v12 (flexible) of one topic.
    static func fetch(correlation: Int32, version: Int16 = 10, topic: String = "events", maxWait: Int32 = 500,
                      minBytes: Int32 = 1, partitions: [(Int32, Int64)] = [(0, 40)]) -> [UInt8] {
        let flexible = version >= 12
        return request(key: 1, version: version, correlation: correlation, clientID: "consumer-1", flexible: flexible) { w in
            w.int32(-1).int32(maxWait).int32(minBytes).int32(52_428_800).int8(0).int32(0).int32(-1)
            w.count(1).string(topic).count(partitions.count)
            for (partition, offset) in partitions {
                w.int32(partition).int32(-1).int64(offset)
                if version >= 12 { w.int32(-1) }
                w.int64(-1).int32(1_048_576).tags()
            }
            w.tags().count(0)
            if version >= 11 { w.string("") }
            w.tags()
        }
    }

    /// A Fetch response of one topic: per partition its error, high watermark and batches (base offset, records).
    static func fetchResponse(correlation: Int32, version: Int16 = 10, topic: String = "events", throttle: Int32 = 0,
                              partitions: [(Int32, Int16, Int64, [(Int64, Int32)])]) -> [UInt8] {
        let flexible = version >= 12
        return response(correlation: correlation, flexible: flexible) { w in
            w.int32(throttle).int16(0).int32(0).count(1).string(topic).count(partitions.count)
            for (partition, error, highWatermark, batches) in partitions {
                w.int32(partition).int16(error).int64(highWatermark).int64(highWatermark).int64(0).count(0)
                if version >= 11 { w.int32(-1) }
                w.blob(batches.flatMap { batch(baseOffset: $0.0, records: $0.1) }).tags()
            }
            w.tags().tags()
        }
    }

    /// JoinGroup v5 (classic), its response with `error`.
    static func joinGroup(correlation: Int32, group: String = "readers") -> [UInt8] {
        request(key: 11, version: 5, correlation: correlation) { w in
            w.string(group).int32(10_000).int32(300_000).string("").string(nil).string("consumer").count(0)
        }
    }

    static func heartbeat(correlation: Int32, group: String = "readers") -> [UInt8] {
        request(key: 12, version: 4, correlation: correlation, flexible: true) { w in
            w.string(group).int32(1).string("member-1").string(nil).tags()
        }
    }

    static func errorResponse(correlation: Int32, error: Int16, flexible: Bool = false) -> [UInt8] {
        response(correlation: correlation, flexible: flexible) { w in w.int32(0).int16(error).tags() }
    }

    /// ApiVersions v3: a flexible request answered with response header v0.
    static func apiVersions(correlation: Int32) -> [UInt8] {
        request(key: 18, version: 3, correlation: correlation, flexible: true) { w in
            w.string("kafka-python").string("2.2").tags()
        }
    }

    static func apiVersionsResponse(correlation: Int32) -> [UInt8] {
        response(correlation: correlation, flexible: true, headerTags: false) { w in
            w.int16(0).count(1).int16(0).int16(0).int16(9).tags().int32(0).tags()
        }
    }
}
