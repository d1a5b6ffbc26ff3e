/// One whole Kafka message (after its size prefix) as far as it was
/// captured: the probe's payload cap and uncaptured syscalls leave holes,
/// kept as ranges so that fields after a hole are still read by position.
/// At most `maxStored` bytes are kept; beyond that the message is uncaptured.
struct KafkaMessage: Sendable {
    /// The message's length from its size prefix.
    var size: Int
    /// Positions `0..<bytes.count` (read through the subscripts: the slice
    /// keeps its own indices); bytes inside `holes` are zeros. A hole at the
    /// end is not filled until captured bytes follow it (a batch cut by the
    /// payload cap costs no zeros written). A message that begins a segment
    /// shares the segment's storage until more bytes are appended: no copy.
    private(set) var bytes: ArraySlice<UInt8> = []
    /// Uncaptured ranges that captured bytes follow, sorted, apart (a
    /// trailing hole is `bytes.count..<received`, not listed).
    private(set) var holes: [Range<Int>] = []
    /// Positions `0..<intact` were all captured: before the first hole.
    private(set) var intact = 0
    /// Positions received, captured or not: `bytes.count` plus a trailing hole.
    private(set) var received = 0

    static let maxStored = 1 << 20
    static let maxHoles = 64

    init(size: Int) {
        self.size = size
    }

    /// The byte at position `i` (in `0..<bytes.count`).
    subscript(i: Int) -> UInt8 { bytes[bytes.startIndex + i] }

    /// The bytes at positions `range`.
    subscript(range: Range<Int>) -> ArraySlice<UInt8> {
        bytes[(bytes.startIndex + range.lowerBound)..<(bytes.startIndex + range.upperBound)]
    }

    /// False past the limits: the rest of the message is not kept (it reads as uncaptured).
    private var storing = true

    mutating func append(_ captured: ArraySlice<UInt8>) {
        guard storing, received + captured.count <= KafkaMessage.maxStored else {
            storing = false
            return
        }
        if received == 0 {
            bytes = captured
        } else {
            if bytes.count < received {
                guard holes.count < KafkaMessage.maxHoles else {
                    storing = false
                    return
                }
                holes.append(bytes.count..<received)
                bytes.append(contentsOf: repeatElement(0, count: received - bytes.count))
            }
            bytes.append(contentsOf: captured)
        }
        received = bytes.count
        if holes.isEmpty { intact = bytes.count }
    }

    mutating func appendMissing(_ n: Int) {
        guard storing, received + n <= KafkaMessage.maxStored else {
            storing = false
            return
        }
        received += n
    }

    /// The correlation id at `offset` (a request's 4, after API key and
    /// version; a response's 0) once its head was captured; nil before.
    func correlationID(at offset: Int) -> Int32? {
        offset <= intact - 4 ? integer(at: offset) : nil
    }

    /// The big-endian integer at `offset`; nil unless all its bytes were captured.
    ///
    /// Before the first hole, one check of the span and a load: bytes read one
    /// by one through the slice's checked subscript cost ~100 instructions an integer.
    @inline(__always)
    func integer<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T? {
        let n = MemoryLayout<T>.size
        guard offset >= 0, offset <= intact - n else { return integerAfterHole(at: offset) }
        return bytes.withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    @inline(never)
    private func integerAfterHole<T: FixedWidthInteger>(at offset: Int) -> T? {
        let n = MemoryLayout<T>.size
        guard offset >= 0, isCaptured(offset..<(offset + n)) else { return nil }
        var v: T = 0
        for i in offset..<(offset + n) { v = v << 8 | T(truncatingIfNeeded: self[i]) }
        return v
    }

    func isCaptured(_ range: Range<Int>) -> Bool {
        range.upperBound <= bytes.count && !holes.contains { $0.overlaps(range) }
    }
}

/// A bounds-checked reader of Kafka's primitive types over one message:
/// every length and count is checked against what is left of the message,
/// so no input makes it read outside the message or loop long.
struct KafkaReader {
    enum Failure: Error, Sendable {
        /// The field lies (partly) in bytes that were not captured: unknown.
        case uncaptured
        /// The bytes break the grammar (a length past the message's end, a bad varint).
        case malformed
    }

    let message: KafkaMessage
    var position: Int
    /// Compact strings and arrays, tagged fields (KIP-482).
    var flexible: Bool

    init(_ message: KafkaMessage, at position: Int = 0, flexible: Bool = false) {
        self.message = message
        self.position = position
        self.flexible = flexible
    }

    var remaining: Int { message.size - position }

    /// Moves past `n` bytes, captured or not.
    mutating func skip(_ n: Int) throws(Failure) {
        guard n >= 0, n <= remaining else { throw .malformed }
        position += n
    }

    /// The next `n` bytes' positions, which must be captured.
    mutating func take(_ n: Int) throws(Failure) -> Range<Int> {
        let start = position
        try skip(n)
        guard message.isCaptured(start..<position) else { throw .uncaptured }
        return start..<position
    }

    @inline(__always)
    private mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(Failure) -> T {
        let n = MemoryLayout<T>.size
        guard n <= remaining else { throw .malformed }
        guard let value = message.integer(at: position, as: T.self) else { throw .uncaptured }
        position += n
        return value
    }

    mutating func int8() throws(Failure) -> Int8 { try integer(Int8.self) }
    mutating func int16() throws(Failure) -> Int16 { try integer(Int16.self) }
    mutating func int32() throws(Failure) -> Int32 { try integer(Int32.self) }
    mutating func int64() throws(Failure) -> Int64 { try integer(Int64.self) }

    /// An unsigned varint of at most 32 bits (5 bytes).
    mutating func uvarint() throws(Failure) -> UInt32 {
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            let byte = UInt8(bitPattern: try int8())
            value |= UInt32(byte & 0x7F) << UInt32(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw .malformed
    }

    /// A length or count: int16/int32 (-1 null) in classic versions, unsigned varint minus one when flexible.
    private mutating func length(classicBytes: Int) throws(Failure) -> Int? {
        let n: Int
        if flexible {
            n = Int(try uvarint()) - 1
        } else {
            n = classicBytes == 2 ? Int(try int16()) : Int(try int32())
        }
        guard n >= -1 else { throw .malformed }
        return n == -1 ? nil : n
    }

    /// A (nullable) string; nil for null.
    mutating func string() throws(Failure) -> String? {
        guard let n = try length(classicBytes: 2) else { return nil }
        guard n <= remaining else { throw .malformed }
        let range = try take(n)
        return String(decoding: message[range], as: UTF8.self)
    }

    /// A string always in classic form (the request header's client id).
    mutating func classicString() throws(Failure) -> String? {
        let saved = flexible
        flexible = false
        defer { flexible = saved }
        return try string()
    }

    /// An array's element count (nil: null); every element takes at least a byte.
    mutating func arrayCount() throws(Failure) -> Int? {
        guard let n = try length(classicBytes: 4) else { return nil }
        guard n <= remaining else { throw .malformed }
        return n
    }

    /// The length of a (nullable) bytes field; nil for null.
    mutating func bytesLength() throws(Failure) -> Int? {
        guard let n = try length(classicBytes: 4) else { return nil }
        guard n <= remaining else { throw .malformed }
        return n
    }

    /// Tagged fields (flexible versions only): skipped.
    mutating func tags() throws(Failure) {
        guard flexible else { return }
        let count = Int(try uvarint())
        guard count <= remaining else { throw .malformed }
        for _ in 0..<count {
            _ = try uvarint()
            try skip(Int(try uvarint()))
        }
    }

    /// An array of `count` 4-byte integers (replica lists, partition indexes), skipped.
    mutating func skipInt32Array() throws(Failure) {
        if let n = try arrayCount() { try skip(4 * n) }
    }
}
