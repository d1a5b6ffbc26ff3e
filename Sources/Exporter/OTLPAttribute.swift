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

    /// A value as the encoders take it: a string may be a slice of the record's (no copy made).
    enum Field {
        case string(Substring), bool(Bool), int(Int64), double(Double)

        var value: Value {
            switch self {
            case .string(let s): .string(String(s))
            case .bool(let b): .bool(b)
            case .int(let i): .int(i)
            case .double(let d): .double(d)
            }
        }
    }

    /// Writes one `KeyValue` as field `field`: its lengths are known before
    /// it is written, so nothing is patched or moved, and the key's bytes
    /// are copied as they are (a `StaticString` costs no UTF-8 conversion).
    static func write(_ key: StaticString, _ value: Field, _ field: UInt64, into w: inout ProtobufWriter) {
        let key = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        // AnyValue: a oneof member, written even at its default, or the value would be absent.
        let any: Int
        switch value {
        case .string(let s): any = 1 + ProtobufWriter.varintSize(UInt64(s.utf8.count)) + s.utf8.count
        case .bool: any = 2
        case .int(let i): any = 1 + ProtobufWriter.varintSize(UInt64(bitPattern: i))
        case .double: any = 9
        }
        let keyCount = key.count
        let body = 1 + ProtobufWriter.varintSize(UInt64(keyCount)) + keyCount + 1 + ProtobufWriter.varintSize(UInt64(any)) + any
        precondition(field < 16, "a KeyValue's field number takes one tag byte")
        w.write(exactly: 1 + ProtobufWriter.varintSize(UInt64(body)) + body) { c in
            c.byte(UInt8(field << 3 | 2))
            c.varint(UInt64(body))
            c.byte(0x0a)  // key = 1, length-delimited
            c.varint(UInt64(keyCount))
            c.copy(key)
            c.byte(0x12)  // value = 2, length-delimited
            c.varint(UInt64(any))
            switch value {
            case .string(let s):
                c.byte(0x0a)  // string_value = 1
                c.varint(UInt64(s.utf8.count))
                c.copy(s.utf8)
            case .bool(let b):
                c.byte(0x10)  // bool_value = 2
                c.byte(b ? 1 : 0)
            case .int(let i):
                c.byte(0x18)  // int_value = 3
                c.varint(UInt64(bitPattern: i))
            case .double(let d):
                c.byte(0x21)  // double_value = 4, fixed64
                c.fixed64(d.bitPattern)
            }
        }
    }

    /// A record's attributes, by the OpenTelemetry semantic conventions
    /// (HTTP, URL, server/client, network) where they have a name, and
    /// pipetrace's own under `pipetrace.*`. Absent fields are left out.
    public static func of(_ r: RequestRecord) -> [OTLPAttribute] {
        var a: [OTLPAttribute] = []
        each(of: r) { a.append(.init($0.description, $1.value)) }
        return a
    }

    /// Writes a record's attributes (`of`) as field `field`, without building them as an array first.
    static func write(of r: RequestRecord, _ field: UInt64, into w: inout ProtobufWriter) {
        each(of: r) { write($0, $1, field, into: &w) }
    }

    /// Calls `body` with each attribute of `of`, in order.
    static func each(of r: RequestRecord, _ body: (StaticString, Field) -> Void) {
        if let method = r.method { body("http.request.method", .string(Substring(method))) }
        if let target = r.target {
            if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
                body("url.path", .string(target[..<q]))
                body("url.query", .string(target[target.index(after: q)...]))
            } else {
                body("url.path", .string(Substring(target)))
            }
        }
        if let status = r.status { body("http.response.status_code", .int(Int64(status))) }
        if let ip = r.server.ip { body("server.address", .string(Substring(ip))) }
        if let port = r.server.port { body("server.port", .int(Int64(port))) }
        if let ip = r.client.ip { body("client.address", .string(Substring(ip))) }
        if let port = r.client.port { body("client.port", .int(Int64(port))) }
        if let slash = r.protocolName.utf8.firstIndex(of: UInt8(ascii: "/")) {
            body("network.protocol.name", .string(r.protocolName[..<slash]))
            body("network.protocol.version", .string(r.protocolName[r.protocolName.index(after: slash)...]))
        } else if !r.protocolName.isEmpty {
            body("network.protocol.name", .string(Substring(r.protocolName)))
        }
        body("http.request.body.size", .int(Int64(clamping: r.requestBytes)))
        body("http.response.body.size", .int(Int64(clamping: r.responseBytes)))
        if let hop = r.hop { body("pipetrace.hop", .string(Substring(hop))) }
        if let c = r.client.container { body("pipetrace.client.container", .string(Substring(c))) }
        if let c = r.server.container { body("pipetrace.server.container", .string(Substring(c))) }
        body("pipetrace.side", .string(Substring(r.side.rawValue)))
        if let n = r.network { body("pipetrace.network_ms", .double(Double(n) / 1e6)) }
        if let s = r.serverTime { body("pipetrace.server_ms", .double(Double(s) / 1e6)) }
        body("pipetrace.retransmits", .int(Int64(r.retransmits)))
        if !r.isComplete { body("pipetrace.incomplete", .bool(true)) }
    }
}
