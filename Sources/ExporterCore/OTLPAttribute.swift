import Analyzer

/// One OTLP `KeyValue`: an attribute name and a typed value.
///
///     message KeyValue { string key = 1; AnyValue value = 2; }
///     message AnyValue { oneof value { string string_value = 1; bool bool_value = 2;
///                                      int64 int_value = 3; double double_value = 4; ... } }
public struct OTLPAttribute: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case string(String), bool(Bool), int(Int64), double(Double)
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }

    /// A value as the encoders take it: a string whole, or the UTF-8
    /// bytes `from..<to` of one (no copy made), or two joined by "→" (a
    /// hop), written without being built as a string first.
    enum Field: AnyValueEncoding {
        case string(String), slice(String, from: Int, to: Int), bool(Bool), int(Int64), double(Double), joined(String, String)

        var value: Value {
            switch self {
            case .string(let s): .string(s)
            case .slice(let s, let from, let to): .string(String(decoding: Array(s.utf8)[from..<to], as: UTF8.self))
            case .bool(let b): .bool(b)
            case .int(let i): .int(i)
            case .double(let d): .double(d)
            case .joined(let a, let b): .string("\(a)→\(b)")
            }
        }

        /// The bytes of its `AnyValue` message: a oneof member, written even
        /// at its default, or the value would be absent.
        var anySize: Int {
            @inline(__always) get {
                switch self {
                case .string(let s): 1 + ProtobufWriter.varintSize(UInt64(s.utf8.count)) + s.utf8.count
                case .slice(_, let from, let to): 1 + ProtobufWriter.varintSize(UInt64(to - from)) + to - from
                case .bool: 2
                case .int(let i): Number.int(i).anySize
                case .double(let d): Number.double(d).anySize
                case .joined(let a, let b):
                    1 + ProtobufWriter.varintSize(UInt64(a.utf8.count + 3 + b.utf8.count)) + a.utf8.count + 3 + b.utf8.count
                }
            }
        }

        /// The `AnyValue` message's body (`anySize` bytes).
        @inline(__always)
        func writeValue(into c: inout ProtobufWriter.Cursor) {
            switch self {
            case .string(let s):
                c.byte(0x0a)  // string_value = 1
                c.varint(UInt64(s.utf8.count))
                c.copy(s)
            case .slice(let s, let from, let to):
                c.byte(0x0a)
                c.varint(UInt64(to - from))
                c.copy(s, from: from, to: to)
            case .bool(let b):
                c.byte(0x10)  // bool_value = 2
                c.byte(b ? 1 : 0)
            case .int(let i): Number.int(i).writeValue(into: &c)
            case .double(let d): Number.double(d).writeValue(into: &c)
            case .joined(let a, let b):
                c.byte(0x0a)
                c.varint(UInt64(a.utf8.count + 3 + b.utf8.count))
                c.copy(a)
                c.byte(0xe2)  // "→", U+2192, in UTF-8
                c.byte(0x86)
                c.byte(0x92)
                c.copy(b)
            }
        }
    }

    /// A number value: what the attributes that change from request to
    /// request are. It holds no strings, so making and dropping one costs
    /// no reference counting (this runs for every record).
    enum Number: AnyValueEncoding {
        case int(Int64), double(Double)

        var field: Field {
            switch self {
            case .int(let i): .int(i)
            case .double(let d): .double(d)
            }
        }

        var anySize: Int {
            @inline(__always) get {
                switch self {
                case .int(let i): 1 + ProtobufWriter.varintSize(UInt64(bitPattern: i))
                case .double: 9
                }
            }
        }

        @inline(__always)
        func writeValue(into c: inout ProtobufWriter.Cursor) {
            switch self {
            case .int(let i):
                c.byte(0x18)  // int_value = 3
                c.varint(UInt64(bitPattern: i))
            case .double(let d):
                c.byte(0x21)  // double_value = 4, fixed64
                c.fixed64(d.bitPattern)
            }
        }
    }

    /// The bytes `write` takes for one `KeyValue`, tag and length included.
    @inline(__always)
    static func size(_ key: StaticString, _ value: some AnyValueEncoding) -> Int {
        let body = body(key, value.anySize)
        return 1 + ProtobufWriter.varintSize(UInt64(body)) + body
    }

    @inline(__always)
    private static func body(_ key: StaticString, _ any: Int) -> Int {
        1 + ProtobufWriter.varintSize(UInt64(key.utf8CodeUnitCount)) + key.utf8CodeUnitCount + 1 + ProtobufWriter.varintSize(UInt64(any)) + any
    }

    /// Writes one `KeyValue` as field `field`: its lengths are known before
    /// it is written, so nothing is patched or moved, and the key's bytes
    /// are copied as they are (a `StaticString` costs no UTF-8 conversion).
    static func write(_ key: StaticString, _ value: Field, _ field: UInt64, into w: inout ProtobufWriter) {
        w.write(exactly: size(key, value)) { c in write(key, value, field, into: &c) }
    }

    /// `write` through a cursor with room for it (`size` bytes).
    @inline(__always)
    static func write(_ key: StaticString, _ value: some AnyValueEncoding, _ field: UInt64,
                      into c: inout ProtobufWriter.Cursor) {
        precondition(field < 16, "a KeyValue's field number takes one tag byte")
        let any = value.anySize
        c.byte(UInt8(field << 3 | 2))
        c.varint(UInt64(body(key, any)))
        c.byte(0x0a)  // key = 1, length-delimited
        c.varint(UInt64(key.utf8CodeUnitCount))
        c.copy(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        c.byte(0x12)  // value = 2, length-delimited
        c.varint(UInt64(any))
        value.writeValue(into: &c)
    }

    /// A record's attributes, by the OpenTelemetry semantic conventions
    /// (HTTP, URL, server/client, network) where they have a name, and
    /// pipetrace's own under `pipetrace.*`. Absent fields are left out.
    public static func of(_ r: RequestRecord) -> [OTLPAttribute] {
        var a: [OTLPAttribute] = []
        each(of: r) { a.append(.init($0.description, $1.value)) }
        return a
    }

    /// Writes a record's attributes (`of`) as field `field`, without
    /// building them as an array first: sized in one pass, written in a
    /// second through one cursor (one capacity check for all of them).
    /// Those a hop's requests repeat come from `repeated` while they stay the
    /// same: comparing a few short strings costs far less than encoding them.
    static func write(of r: RequestRecord, _ field: UInt64, into w: inout ProtobufWriter, repeated: inout RepeatedAttributes) {
        if !repeated.matches(r) {
            repeated.bytes.reset()
            write(eachRepeated, of: r, field, into: &repeated.bytes)
            repeated.last = r
        }
        w.append(repeated.bytes.bytes)
        write(eachChanging, of: r, field, into: &w)
    }

    /// The same without keeping what repeats.
    static func write(of r: RequestRecord, _ field: UInt64, into w: inout ProtobufWriter) {
        var repeated = RepeatedAttributes()
        write(of: r, field, into: &w, repeated: &repeated)
    }

    @inline(__always)
    private static func write<Value: AnyValueEncoding>(_ each: (RequestRecord, (StaticString, Value) -> Void) -> Void,
                                                       of r: RequestRecord, _ field: UInt64, into w: inout ProtobufWriter) {
        var total = 0
        each(r) { total += size($0, $1) }
        w.write(exactly: total) { c in each(r) { write($0, $1, field, into: &c) } }
    }

    /// Calls `body` with each attribute of `of`: those a hop's requests repeat, then those that change.
    @inline(__always)
    static func each(of r: RequestRecord, _ body: (StaticString, Field) -> Void) {
        eachRepeated(r, body)
        eachChanging(r) { body($0, $1.field) }
    }

    /// Attributes that follow from the fields `RepeatedAttributes.matches` compares, alone (the two lists go together).
    @inline(__always)
    static func eachRepeated(_ r: RequestRecord, _ body: (StaticString, Field) -> Void) {
        if r.protocolName == "grpc" {
            // rpc.* by the semantic conventions for gRPC; the method is "pkg.Service/Method".
            body("rpc.system", .string("grpc"))
            if let method = r.method, let slash = offset(of: UInt8(ascii: "/"), in: method) {
                body("rpc.service", .slice(method, from: 0, to: slash))
                body("rpc.method", .slice(method, from: slash + 1, to: method.utf8.count))
            }
            if let status = r.status { body("rpc.grpc.status_code", .int(Int64(status))) }
        } else if r.protocolName == AMQPParser.protocolName {
            eachAMQP(r, body)
        } else if r.protocolName == KafkaParser.protocolName {
            eachKafka(r, body)
        } else {
            if let method = r.method { body("http.request.method", .string(method)) }
            if let target = r.target {
                if let q = offset(of: UInt8(ascii: "?"), in: target) {
                    body("url.path", .slice(target, from: 0, to: q))
                    body("url.query", .slice(target, from: q + 1, to: target.utf8.count))
                } else {
                    body("url.path", .string(target))
                }
            }
            if let status = r.status { body("http.response.status_code", .int(Int64(status))) }
        }
        if let ip = r.server.ip { body("server.address", .string(ip)) }
        if let port = r.server.port { body("server.port", .int(Int64(port))) }
        if let ip = r.client.ip { body("client.address", .string(ip)) }
        if let slash = offset(of: UInt8(ascii: "/"), in: r.protocolName) {
            body("network.protocol.name", .slice(r.protocolName, from: 0, to: slash))
            body("network.protocol.version", .slice(r.protocolName, from: slash + 1, to: r.protocolName.utf8.count))
        } else if !r.protocolName.isEmpty {
            body("network.protocol.name", .string(r.protocolName))
        }
        // RequestRecord.hop, not built as a string.
        if r.client.container != nil || r.server.container != nil {
            body("pipetrace.hop", .joined(r.client.container ?? "?", r.server.container ?? "?"))
        }
        if let c = r.client.container { body("pipetrace.client.container", .string(c)) }
        if let c = r.server.container { body("pipetrace.server.container", .string(c)) }
        body("pipetrace.side", .string(r.side.rawValue))
        if !r.isComplete { body("pipetrace.incomplete", .bool(true)) }
    }

    /// Attributes that change from request to request.
    @inline(__always)
    static func eachChanging(_ r: RequestRecord, _ body: (StaticString, Number) -> Void) {
        if let port = r.client.port { body("client.port", .int(Int64(port))) }
        body("http.request.body.size", .int(Int64(clamping: r.requestBytes)))
        body("http.response.body.size", .int(Int64(clamping: r.responseBytes)))
        if let n = r.network { body("pipetrace.network_ms", .double(Double(n) / 1e6)) }
        if let s = r.serverTime { body("pipetrace.server_ms", .double(Double(s) / 1e6)) }
        body("pipetrace.retransmits", .int(Int64(r.retransmits)))
    }

    /// The UTF-8 offset of the first `byte` in `s`, nil if none.
    static func offset(of byte: UInt8, in s: String) -> Int? {
        if let found = s.utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: byte) }) { return found }
        return s.utf8.firstIndex(of: byte).map { s.utf8.distance(from: s.utf8.startIndex, to: $0) }
    }
}

/// The encoded attributes of the last record whose repeating fields were
/// these (`OTLPAttribute.eachRepeated`): one hop's requests share them.
struct RepeatedAttributes: Sendable {
    /// The record they were written for (its other fields do not matter).
    var last: RequestRecord?
    var bytes = ProtobufWriter()

    /// Whether `r` repeats every field the bytes were written from: compared
    /// in place, since copying a record's strings costs what writing them does.
    func matches(_ r: RequestRecord) -> Bool {
        guard let l = last else { return false }
        return l.method == r.method && l.target == r.target && l.status == r.status
            && l.server.ip == r.server.ip && l.server.port == r.server.port && l.client.ip == r.client.ip
            && l.protocolName == r.protocolName && l.client.container == r.client.container
            && l.server.container == r.server.container && l.side == r.side && l.isComplete == r.isComplete
    }
}

/// An attribute's value as `OTLPAttribute.write` takes it: the size and
/// bytes of its `AnyValue` message.
protocol AnyValueEncoding {
    var anySize: Int { get }
    func writeValue(into c: inout ProtobufWriter.Cursor)
}
