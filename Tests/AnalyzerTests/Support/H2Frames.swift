@testable import Analyzer

/// Hand-made HTTP/2 frames for parser tests. Header blocks use HPACK's
/// static table and literals without indexing (RFC 7541 §6.2.2), or
/// literals with incremental indexing where a test needs the dynamic table.
enum H2 {
    static let preface = HTTP2Parser.preface

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
            + payload
    }

    static func settings() -> [UInt8] { frame(4, stream: 0, [0, 3, 0, 0, 0, 100]) }

    /// A header field as a literal; `indexed` adds it to the dynamic table.
    static func literal(_ name: String, _ value: String, indexed: Bool = false) -> [UInt8] {
        [indexed ? 0x40 : 0x00] + string(name) + string(value)
    }

    static func string(_ s: String) -> [UInt8] {
        let bytes = Array(s.utf8)
        return integer(bytes.count, prefixBits: 7, flags: 0) + bytes
    }

    static func integer(_ value: Int, prefixBits: Int, flags: UInt8) -> [UInt8] {
        let max = (1 << prefixBits) - 1
        if value < max { return [flags | UInt8(value)] }
        var out = [flags | UInt8(max)]
        var v = value - max
        while v >= 128 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }

    /// An indexed field (RFC 7541 §6.1).
    static func indexed(_ index: Int) -> [UInt8] { integer(index, prefixBits: 7, flags: 0x80) }

    static func headers(stream: UInt32, endStream: Bool = false, _ block: [UInt8]) -> [UInt8] {
        frame(1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, block)
    }

    static func data(stream: UInt32, endStream: Bool = false, _ payload: [UInt8]) -> [UInt8] {
        frame(0, flags: endStream ? 0x1 : 0, stream: stream, payload)
    }

    static func rst(stream: UInt32, code: UInt32 = 8) -> [UInt8] {
        frame(3, stream: stream, [UInt8(code >> 24), UInt8(code >> 16 & 0xFF), UInt8(code >> 8 & 0xFF), UInt8(code & 0xFF)])
    }

    static func goaway(last: UInt32, code: UInt32 = 0) -> [UInt8] {
        frame(7, stream: 0, [UInt8(last >> 24), UInt8(last >> 16 & 0xFF), UInt8(last >> 8 & 0xFF), UInt8(last & 0xFF),
                             0, 0, 0, UInt8(code)])
    }

    /// A gRPC request's headers: POST (static 3), :scheme http (6), :path, content-type.
    static func grpcRequest(stream: UInt32, path: String, timeout: String? = nil, indexing: Bool = false) -> [UInt8] {
        var block = indexed(3) + indexed(6) + literal(":path", path, indexed: indexing)
            + literal("content-type", "application/grpc", indexed: indexing)
        if let timeout { block += literal("grpc-timeout", timeout) }
        return headers(stream: stream, block)
    }

    /// One gRPC length-prefixed message of `size` bytes.
    static func message(_ size: Int) -> [UInt8] {
        [0, UInt8(size >> 24 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
            + [UInt8](repeating: 0x2A, count: size)
    }

    static func grpcResponseHeaders(stream: UInt32) -> [UInt8] {
        headers(stream: stream, indexed(8) + literal("content-type", "application/grpc"))
    }

    static func grpcTrailers(stream: UInt32, status: Int, message: String? = nil) -> [UInt8] {
        var block = literal("grpc-status", String(status))
        if let message { block += literal("grpc-message", message) }
        return headers(stream: stream, endStream: true, block)
    }

    /// A complete unary gRPC call on `stream`: request bytes and response bytes.
    static func unaryCall(stream: UInt32, path: String = "/demo.Echo/Say", status: Int = 0, preface: Bool = false)
        -> (request: [UInt8], response: [UInt8]) {
        let request = (preface ? H2.preface + settings() : []) + grpcRequest(stream: stream, path: path)
            + data(stream: stream, endStream: true, message(10))
        let response = grpcResponseHeaders(stream: stream) + data(stream: stream, message(20))
            + grpcTrailers(stream: stream, status: status)
        return (request, response)
    }
}

/// Feeds (sender, bytes) pairs to a fresh HTTP/2 parser.
func parseH2(_ segments: [(Sender, [UInt8])]) -> (events: [ParserEvent], error: ProtocolParseError?) {
    parse(segments.map { ($0.0, StreamSegment(bytes: $0.1[...])) }, with: HTTP2Parser())
}
