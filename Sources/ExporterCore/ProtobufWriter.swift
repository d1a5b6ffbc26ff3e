/// The few pieces of the protobuf wire format the exporter's messages need
/// (varints, fixed64 doubles, length-delimited fields), so remote write
/// and OTLP are encoded without generated code or a protoc plugin in the build.
/// Fields are written in field-number order, as protoc does.
public struct ProtobufWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// `capacity`: the bytes expected, reserved at once so a large request
    /// is not copied as it grows.
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    mutating func tag(_ field: UInt64, _ type: WireType) {
        varint(field << 3 | type.rawValue)
    }

    public mutating func varint(_ value: UInt64) {
        if value < 0x80 { return bytes.append(UInt8(value)) }
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Whether a field's default value (0, empty) is written. proto3 leaves
    /// defaults out (`implicit`); a member of a `oneof` (OTLP's `AnyValue`)
    /// must be written even at 0, or the receiver sees no value at all.
    public enum Presence: Sendable {
        case implicit, explicit
    }

    /// An `int64`/`uint64`/`enum`/`bool` field; zero is not written unless `presence` is explicit.
    public mutating func varintField(_ field: UInt64, _ value: UInt64, presence: Presence = .implicit) {
        guard value != 0 || presence == .explicit else { return }
        tag(field, .varint)
        varint(value)
    }

    /// An `int64` field (negative values take ten bytes, as protobuf says).
    public mutating func int64Field(_ field: UInt64, _ value: Int64, presence: Presence = .implicit) {
        varintField(field, UInt64(bitPattern: value), presence: presence)
    }

    /// A `double` field; 0 is not written (proto3 default) unless `presence` is explicit.
    public mutating func doubleField(_ field: UInt64, _ value: Double, presence: Presence = .implicit) {
        guard value.bitPattern != 0 || presence == .explicit else { return }
        tag(field, .fixed64)
        fixed64(value.bitPattern)
    }

    /// A `fixed64` field (OTLP's nanosecond timestamps).
    public mutating func fixed64Field(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .fixed64)
        fixed64(value)
    }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// How many bytes `varint` writes for `value`.
    static func varintSize(_ value: UInt64) -> Int {
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    /// Bytes already encoded (a field or fields written elsewhere), appended as they are.
    mutating func append(_ raw: some Collection<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// A raw write position inside bytes `ProtobufWriter.write(exactly:_:)` made room for.
    struct Cursor {
        var at: UnsafeMutablePointer<UInt8>

        mutating func byte(_ b: UInt8) {
            at.pointee = b
            at += 1
        }

        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                byte(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            byte(UInt8(v))
        }

        mutating func fixed64(_ value: UInt64) {
            UnsafeMutableRawPointer(at).storeBytes(of: value.littleEndian, as: UInt64.self)
            at += 8
        }

        mutating func copy(_ raw: UnsafeBufferPointer<UInt8>) {
            guard let base = raw.baseAddress else { return }
            at.update(from: base, count: raw.count)
            at += raw.count
        }

        /// The UTF-8 of `s`, or of its bytes `from..<to`.
        mutating func copy(_ s: String, from: Int = 0, to: Int? = nil) {
            let to = to ?? s.utf8.count
            if s.utf8.withContiguousStorageIfAvailable({ copy(UnsafeBufferPointer(rebasing: $0[from..<to])) }) == nil {
                for b in s.utf8.dropFirst(from).prefix(to - from) { byte(b) }
            }
        }
    }

    /// What `write(exactly:)` makes room with: most runs (a span's head, an attribute) are shorter.
    private static let zeros = [UInt8](repeating: 0, count: 512)

    /// Appends exactly `count` bytes, written by `body` through a `Cursor`:
    /// one capacity and uniqueness check for a run of small writes (an
    /// attribute's tags, lengths, key and value) rather than one per byte.
    mutating func write(exactly count: Int, _ body: (inout Cursor) -> Void) {
        let start = bytes.count
        // Zeros appended from a buffer (one memcpy), not element by element.
        if count <= Self.zeros.count {
            Self.zeros.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<count])) }
        } else {
            bytes.append(contentsOf: repeatElement(0, count: count))
        }
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = Cursor(at: buffer.baseAddress! + start)
            body(&cursor)
            precondition(cursor.at == buffer.baseAddress! + start + count, "ProtobufWriter.write(exactly:) wrote another count")
        }
    }

    /// Length-delimited fields encoded elsewhere under another one-byte tag
    /// (a repeated message of field 1 to 15), written as field `field`.
    mutating func appendRetagged(_ fields: ArraySlice<UInt8>, field: UInt64) {
        var i = fields.startIndex
        while i < fields.endIndex {
            tag(field, .lengthDelimited)
            i += 1
            let lengthAt = i
            var length = 0, shift = 0
            while true {
                let b = fields[i]
                length |= Int(b & 0x7f) << shift
                shift += 7
                i += 1
                if b & 0x80 == 0 { break }
            }
            bytes.append(contentsOf: fields[lengthAt..<i + length])
            i += length
        }
    }

    /// Empties the buffer, keeping its memory for the next message.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Empties the buffer, keeping its memory unless that is more than
    /// `limit` bytes (a buffer kept across messages gives back what one
    /// unusually large message made it take).
    mutating func reset(keepingAtMost limit: Int) {
        bytes.removeAll(keepingCapacity: bytes.capacity <= limit)
    }

    /// A `string` field; empty is not written unless `presence` is explicit.
    public mutating func stringField(_ field: UInt64, _ value: String, presence: Presence = .implicit) {
        let utf8 = value.utf8
        guard !utf8.isEmpty || presence == .explicit else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A `bytes` field; empty is not written unless `presence` is explicit.
    public mutating func bytesField(_ field: UInt64, _ value: [UInt8], presence: Presence = .implicit) {
        guard !value.isEmpty || presence == .explicit else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// An embedded message, written by `body` in place: one byte is
    /// reserved for its length and patched once the body is written; a
    /// body of 128 bytes or more (a length of two varint bytes or more) is
    /// moved up to make room. Most embedded messages (attributes, labels,
    /// samples) are shorter, so they are never moved, and no message is
    /// built in a buffer of its own and copied into its parent.
    /// Written even when empty: a repeated message's presence is its meaning.
    public mutating func messageField(_ field: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, .lengthDelimited)
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - lengthAt - 1
        if length < 0x80 {
            bytes[lengthAt] = UInt8(length)
            return
        }
        var size = 1
        while length >> (7 * size) != 0 { size += 1 }
        bytes.insert(contentsOf: repeatElement(0, count: size - 1), at: lengthAt + 1)
        var v = length
        for i in 0..<size {
            bytes[lengthAt + i] = UInt8(truncatingIfNeeded: v) | (i < size - 1 ? 0x80 : 0)
            v >>= 7
        }
    }
}
