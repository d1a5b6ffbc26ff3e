import Foundation

/// One HTTP/1.1 POST per connection (`Connection: close`): at one batch per
/// export interval a kept-alive connection would save little, and a fresh
/// one never inherits a half-broken state from a receiver that restarted.
/// https URLs go through `tls` (OpenSSL) over the same socket.
///
/// A hand-written client rather than libcurl: it is this page long, it
/// tells `onConnect` each local address before a byte is sent (how our own
/// traffic is recognized), and libcurl would need a C shim of its own for
/// its variadic options and callbacks while deleting only the parsing below.
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        /// A short word for metrics: "resolve", "connect", "timeout", "io", "tls", "protocol".
        public let reason: String
        public let description: String
    }

    public var timeout: Double
    /// For https URLs; nil: the system trust store, no client certificate (a context made per request).
    public var tls: TLSContext?
    /// Told each local address a request goes out from, before it is sent,
    /// so the records of that traffic can be recognized as our own.
    public var onConnect: @Sendable (String, UInt16) -> Void

    public init(timeout: Double = 10, tls: TLSContext? = nil, onConnect: @escaping @Sendable (String, UInt16) -> Void = { _, _ in }) {
        self.timeout = timeout
        self.tls = tls
        self.onConnect = onConnect
    }

    public func post(_ endpoint: HTTPEndpoint, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        try request("POST", endpoint, headers: headers, body: body)
    }

    public func get(_ endpoint: HTTPEndpoint) throws(Failure) -> Response {
        try request("GET", endpoint, headers: [], body: [])
    }

    func request(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        guard endpoint.isTLS else { return try exchange(method, endpoint, headers: headers, body: body) }
        // Around the whole exchange: the TLS stream's close writes too.
        return try SIGPIPEBlock.during { () throws(Failure) -> Response in try exchange(method, endpoint, headers: headers, body: body) }
    }

    private func exchange(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        do {
            let socket = try Socket.connect(host: endpoint.host, port: endpoint.port, timeout: timeout)
            if let (ip, port) = socket.localAddress() { onConnect(ip, port) }
            let stream: any ByteStream = endpoint.isTLS ? try tlsContext().connect(socket, host: endpoint.host, port: endpoint.port) : socket
            var head = "\(method) \(endpoint.path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n"
            head += "User-Agent: pipetrace\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            try stream.writeAll(Array(head.utf8) + body)
            var received: [UInt8] = []
            while true {
                let chunk = try stream.read(max: 65536)
                if chunk.isEmpty { break }
                received += chunk
                if received.count > 1 << 20 { break }
            }
            return try HTTPClient.parse(received)
        } catch let failure as Socket.Failure {
            throw Failure(reason: failure.reason, description: "\(endpoint): \(failure.description)")
        } catch let failure as Failure {
            throw Failure(reason: failure.reason, description: "\(endpoint): \(failure.description)")
        } catch {
            throw Failure(reason: "io", description: "\(endpoint): \(error)")
        }
    }

    private func tlsContext() throws(Failure) -> TLSContext {
        if let tls { return tls }
        do { return try TLSContext() } catch { throw Failure(reason: "tls", description: error.description) }
    }

    /// Status and body of a complete response (read to the close).
    static func parse(_ bytes: [UInt8]) throws(Failure) -> Response {
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure(reason: bytes.isEmpty ? "io" : "protocol",
                          description: bytes.isEmpty ? "connection closed without a response" : "not an HTTP response")
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var bodyStart = bytes.count
        if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where Array(bytes[i..<i + 4]) == separator {
                bodyStart = i + 4
                break
            }
        }
        let head = String(decoding: bytes[..<max(0, bodyStart - 4)], as: UTF8.self).lowercased()
        let body = Array(bytes[bodyStart...])
        return Response(status: status, body: head.contains("transfer-encoding: chunked") ? dechunk(body) : body)
    }

    /// The payload of a chunked body (chunk extensions and trailers ignored).
    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard let lineEnd = bytes[i...].firstIndex(of: 10) else { break }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16), size > 0 else { break }
            let start = lineEnd + 1
            guard start + size <= bytes.count else { out += bytes[start...]; break }
            out += bytes[start..<start + size]
            i = start + size + 2
        }
        return out
    }
}
