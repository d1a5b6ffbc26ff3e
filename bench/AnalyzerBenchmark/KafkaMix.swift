// The Kafka mix: producers send Produce requests (v7) of one 16 KiB record
// batch each, consumers Fetch (v10) and get one 16 KiB batch back, over 50
// partitions of one topic. Payloads are cut at the probe's default payload
// cap (4096 bytes), as the probe delivers them: the rest of a batch is
// uncaptured and its records are counted from the batch header alone.

let kafkaBatchBytes = 16 << 10
let kafkaPartitions = 50
let kafkaPayloadCap = 4096

/// Big-endian bytes of a Kafka message under construction.
struct KafkaBytes {
    var bytes: [UInt8] = []
    mutating func int8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    mutating func int16(_ v: Int16) { int(Int64(v), 2) }
    mutating func int32(_ v: Int32) { int(Int64(v), 4) }
    mutating func int64(_ v: Int64) { int(v, 8) }
    mutating func string(_ s: String) {
        int16(Int16(s.utf8.count))
        bytes += Array(s.utf8)
    }
    mutating func int(_ v: Int64, _ n: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }
    /// The message's first `kafkaPayloadCap` bytes as the probe captures
    /// them, when a batch of `kafkaBatchBytes` follows what was written:
    /// its size prefix, these bytes, the batch's head; and its whole length.
    func captured(batchBase: Int64) -> (bytes: [UInt8], length: Int) {
        var f = KafkaBytes()
        f.bytes.reserveCapacity(kafkaPayloadCap)
        f.int32(Int32(bytes.count + kafkaBatchBytes))
        f.bytes += bytes
        var head = KafkaBytes()
        head.int64(batchBase)
        f.bytes += head.bytes
        f.bytes += kafkaBatchTail.prefix(kafkaPayloadCap - f.bytes.count)
        return (f.bytes, 4 + bytes.count + kafkaBatchBytes)
    }

    var framed: (bytes: [UInt8], length: Int) {
        var f = KafkaBytes()
        f.int32(Int32(bytes.count))
        return (f.bytes + bytes, 4 + bytes.count)
    }
}

/// A record batch after its base offset (made once: the generator's cost is subtracted, but it is noise).
let kafkaBatchTail = Array(kafkaBatch(base: 0, records: 100).dropFirst(8))

/// A record batch (magic 2) of `records` records at `base`, `kafkaBatchBytes` long.
func kafkaBatch(base: Int64, records: Int32) -> [UInt8] {
    var b = KafkaBytes()
    b.int64(base)
    b.int32(Int32(kafkaBatchBytes - 12)) // batch length
    b.int32(0) // partition leader epoch
    b.int8(2) // magic
    b.int32(0) // crc (not checked)
    b.int16(0) // attributes
    b.int32(records - 1) // last offset delta
    b.int64(1_700_000_000_000) // first timestamp
    b.int64(1_700_000_000_000) // max timestamp
    b.int64(-1) // producer id
    b.int16(-1) // producer epoch
    b.int32(-1) // base sequence
    b.int32(records)
    b.bytes += [UInt8](repeating: 0x6d, count: kafkaBatchBytes - b.bytes.count)
    return b.bytes
}

/// Request header v1: api key, version, correlation id, client id.
func kafkaHeader(_ key: Int16, _ version: Int16, _ id: Int32, _ client: String) -> KafkaBytes {
    var b = KafkaBytes()
    b.int16(key)
    b.int16(version)
    b.int32(id)
    b.string(client)
    return b
}

/// One exchange on a producer (even `connection`) or consumer connection: request and response bytes.
func kafkaExchange(connection: Int, served: Int, offsets: inout [Int64])
    -> (request: (bytes: [UInt8], length: Int), response: (bytes: [UInt8], length: Int)) {
    let partition = (connection / 2 + served) % kafkaPartitions
    let id = Int32(served + 1)
    let records: Int32 = 100
    if connection % 2 == 0 {
        let base = offsets[partition]
        offsets[partition] += Int64(records)
        var q = kafkaHeader(0, 7, id, "producer-\(connection)")
        q.int16(-1) // transactional id
        q.int16(-1) // acks
        q.int32(30_000)
        q.int32(1)
        q.string("events")
        q.int32(1)
        q.int32(Int32(partition))
        q.int32(Int32(kafkaBatchBytes))
        var s = KafkaBytes()
        s.int32(id)
        s.int32(1)
        s.string("events")
        s.int32(1)
        s.int32(Int32(partition))
        s.int16(0) // error
        s.int64(base)
        s.int64(-1) // log append time
        s.int64(0) // log start offset
        s.int32(0) // throttle
        return (q.captured(batchBase: 0), s.framed)
    }
    let base = max(0, offsets[partition] - Int64(records))
    var q = kafkaHeader(1, 10, id, "consumer-\(connection)")
    q.int32(-1) // replica id
    q.int32(500) // max wait
    q.int32(1) // min bytes
    q.int32(50 << 20) // max bytes
    q.int8(0) // isolation
    q.int32(0) // session id
    q.int32(-1) // session epoch
    q.int32(1)
    q.string("events")
    q.int32(1)
    q.int32(Int32(partition))
    q.int32(-1) // current leader epoch
    q.int64(base)
    q.int64(0) // log start offset
    q.int32(1 << 20)
    q.int32(0) // forgotten topics
    var s = KafkaBytes()
    s.int32(id)
    s.int32(0) // throttle
    s.int16(0) // error
    s.int32(0) // session id
    s.int32(1)
    s.string("events")
    s.int32(1)
    s.int32(Int32(partition))
    s.int16(0)
    s.int64(offsets[partition]) // high watermark
    s.int64(offsets[partition]) // last stable offset
    s.int64(0) // log start offset
    s.int32(0) // aborted transactions
    s.int32(Int32(kafkaBatchBytes))
    return (q.framed, s.captured(batchBase: base))
}
