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

    /// Writes the `KeyValue` as field `field` of the enclosing message.
    func write(_ field: UInt64, into w: inout ProtobufWriter) {
        Self.write(key, value, field, into: &w)
    }

    static func write(_ key: String, _ value: Value, _ field: UInt64, into w: inout ProtobufWriter) {
        w.messageField(field) { kv in
            kv.stringField(1, key)
            kv.messageField(2) { any in
                // A oneof member: written even at its default, or the value would be absent.
                switch value {
                case .string(let s): any.stringField(1, s, presence: .explicit)
                case .bool(let b): any.varintField(2, b ? 1 : 0, presence: .explicit)
                case .int(let i): any.int64Field(3, i, presence: .explicit)
                case .double(let d): any.doubleField(4, d, presence: .explicit)
                }
            }
        }
    }

    /// A record's attributes, by the OpenTelemetry semantic conventions
    /// (HTTP, URL, server/client, network) where they have a name, and
    /// pipetrace's own under `pipetrace.*`. Absent fields are left out.
    public static func of(_ r: RequestRecord) -> [OTLPAttribute] {
        var a: [OTLPAttribute] = []
        each(of: r) { a.append(.init($0, $1)) }
        return a
    }

    /// Writes a record's attributes (`of`) as field `field`, without building them as an array first.
    static func write(of r: RequestRecord, _ field: UInt64, into w: inout ProtobufWriter) {
        each(of: r) { write($0, $1, field, into: &w) }
    }

    /// Calls `body` with each attribute of `of`, in order.
    static func each(of r: RequestRecord, _ body: (String, Value) -> Void) {
        if let method = r.method { body("http.request.method", .string(method)) }
        if let target = r.target {
            if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
                body("url.path", .string(String(target[..<q])))
                body("url.query", .string(String(target[target.index(after: q)...])))
            } else {
                body("url.path", .string(target))
            }
        }
        if let status = r.status { body("http.response.status_code", .int(Int64(status))) }
        if let ip = r.server.ip { body("server.address", .string(ip)) }
        if let port = r.server.port { body("server.port", .int(Int64(port))) }
        if let ip = r.client.ip { body("client.address", .string(ip)) }
        if let port = r.client.port { body("client.port", .int(Int64(port))) }
        if let slash = r.protocolName.utf8.firstIndex(of: UInt8(ascii: "/")) {
            body("network.protocol.name", .string(String(r.protocolName[..<slash])))
            body("network.protocol.version", .string(String(r.protocolName[r.protocolName.index(after: slash)...])))
        } else if !r.protocolName.isEmpty {
            body("network.protocol.name", .string(r.protocolName))
        }
        body("http.request.body.size", .int(Int64(clamping: r.requestBytes)))
        body("http.response.body.size", .int(Int64(clamping: r.responseBytes)))
        if let hop = r.hop { body("pipetrace.hop", .string(hop)) }
        if let c = r.client.container { body("pipetrace.client.container", .string(c)) }
        if let c = r.server.container { body("pipetrace.server.container", .string(c)) }
        body("pipetrace.side", .string(r.side.rawValue))
        if let n = r.network { body("pipetrace.network_ms", .double(Double(n) / 1e6)) }
        if let s = r.serverTime { body("pipetrace.server_ms", .double(Double(s) / 1e6)) }
        body("pipetrace.retransmits", .int(Int64(r.retransmits)))
        if !r.isComplete { body("pipetrace.incomplete", .bool(true)) }
    }

    /// The resource of a span: the service that made it (`OTLPSpan.service`).
    public static func resource(of span: OTLPSpan) -> [OTLPAttribute] {
        [.init("service.name", .string(span.service))]
    }
}
