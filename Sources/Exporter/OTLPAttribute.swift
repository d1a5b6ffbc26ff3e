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
        if let method = r.method { a.append(.init("http.request.method", .string(method))) }
        if let target = r.target {
            let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            a.append(.init("url.path", .string(String(parts[0]))))
            if parts.count == 2 { a.append(.init("url.query", .string(String(parts[1])))) }
        }
        if let status = r.status { a.append(.init("http.response.status_code", .int(Int64(status)))) }
        if let ip = r.server.ip { a.append(.init("server.address", .string(ip))) }
        if let port = r.server.port { a.append(.init("server.port", .int(Int64(port)))) }
        if let ip = r.client.ip { a.append(.init("client.address", .string(ip))) }
        if let port = r.client.port { a.append(.init("client.port", .int(Int64(port)))) }
        let proto = r.protocolName.split(separator: "/", maxSplits: 1)
        if let name = proto.first { a.append(.init("network.protocol.name", .string(String(name)))) }
        if proto.count == 2 { a.append(.init("network.protocol.version", .string(String(proto[1])))) }
        a.append(.init("http.request.body.size", .int(Int64(clamping: r.requestBytes))))
        a.append(.init("http.response.body.size", .int(Int64(clamping: r.responseBytes))))
        if let hop = r.hop { a.append(.init("pipetrace.hop", .string(hop))) }
        if let c = r.client.container { a.append(.init("pipetrace.client.container", .string(c))) }
        if let c = r.server.container { a.append(.init("pipetrace.server.container", .string(c))) }
        a.append(.init("pipetrace.side", .string(r.side.rawValue)))
        if let n = r.network { a.append(.init("pipetrace.network_ms", .double(Double(n) / 1e6))) }
        if let s = r.serverTime { a.append(.init("pipetrace.server_ms", .double(Double(s) / 1e6))) }
        a.append(.init("pipetrace.retransmits", .int(Int64(r.retransmits))))
        if !r.isComplete { a.append(.init("pipetrace.incomplete", .bool(true))) }
        return a
    }

    /// The resource of a span: the service that made it (`OTLPSpan.service`).
    public static func resource(of span: OTLPSpan) -> [OTLPAttribute] {
        [.init("service.name", .string(span.service))]
    }
}
