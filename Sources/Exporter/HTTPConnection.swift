import Analyzer
import ExporterCore
/// HTTP/1.1 requests over one kept-alive connection (plain or TLS): what a
/// sink's sender thread posts its batches through, so a batch costs no TCP
/// or TLS handshake (at 10k requests/s the OTLP sink sends twenty batches a
/// second, and a connection each was most of its sending cost).
///
/// A server may close an idle connection at any moment, so a request that
/// fails on a reused connection before a byte of the response came (the
/// connection was closed or reset under it) is sent once more on a fresh
/// one; after a response byte, or after a timeout, it is never sent again
/// here (the receiver may have taken it: `HTTPDelivery` decides). A
/// connection is given up after `Connection: close`, an HTTP/1.0 answer
/// without keep-alive, a body whose end only the close tells, any error,
/// or `maxIdle` seconds unused (a NAT or firewall may have forgotten it
/// without a word). Used by one thread at a time; not Sendable.
final class HTTPConnection {
    struct Origin: Equatable {
        var isTLS: Bool
        var host: String
        var port: UInt16
    }

    private struct Open {
        var origin: Origin
        var stream: any ByteStream
        var lastUsed: ContinuousClock.Instant
    }

    /// An attempt's failure, and whether sending again on a fresh connection is safe.
    private struct Attempt: Error {
        var failure: HTTPClient.Failure
        var retryable: Bool
    }

    /// Response bodies are kept up to this size (receivers answer a few bytes; an error page at most).
    static let maxBody = 1 << 20
    private static let maxHead = 64 << 10

    let client: HTTPClient
    let maxIdle: Duration
    private var open: Open?
    /// Made once for https when the client has no context of its own (the system trust store).
    private var defaultTLS: TLSContext?
    /// The request being written and the response being read, kept from request to request.
    private var request: [UInt8] = []
    private var received: [UInt8] = []
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    init(_ client: HTTPClient, maxIdle: Duration = .seconds(30)) {
        self.client = client
        self.maxIdle = maxIdle
    }

    deinit {
        close()
        chunk.deallocate()
    }

    /// Whether a connection is open for the next request (tests).
    var isOpen: Bool { open != nil }

    /// Sends one request and reads its response. `keepAlive` false asks the
    /// server to close (`Connection: close`) and closes after the response.
    func send(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: ArraySlice<UInt8>,
              keepAlive: Bool = true) throws(HTTPClient.Failure) -> HTTPClient.Response {
        // OpenSSL writes with write(2): around every TLS read, write and close (see SIGPIPEBlock).
        guard endpoint.isTLS || open?.origin.isTLS == true else {
            return try attempt(method, endpoint, headers: headers, body: body, keepAlive: keepAlive)
        }
        return try SIGPIPEBlock.during { () throws(HTTPClient.Failure) -> HTTPClient.Response in
            try attempt(method, endpoint, headers: headers, body: body, keepAlive: keepAlive)
        }
    }

    /// Closes the connection, if one is open.
    func close() {
        var closing = open
        open = nil
        // The last reference goes inside the block: a TLS stream's deinit writes its close_notify.
        guard closing?.origin.isTLS == true else { return }
        SIGPIPEBlock.during { closing = nil }
    }

    private func attempt(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: ArraySlice<UInt8>,
                         keepAlive: Bool) throws(HTTPClient.Failure) -> HTTPClient.Response {
        let origin = Origin(isTLS: endpoint.isTLS, host: endpoint.host, port: endpoint.port)
        if let o = open, o.origin != origin || ContinuousClock.now - o.lastUsed > maxIdle { close() }
        do {
            if open != nil {
                do {
                    return try exchange(method, endpoint, headers: headers, body: body, keepAlive: keepAlive)
                } catch where error.retryable {
                    // The server closed the kept-alive connection before it read the request: once more on a fresh one.
                }
            }
            return try exchange(method, endpoint, headers: headers, body: body, keepAlive: keepAlive)
        } catch {
            throw HTTPClient.Failure(reason: error.failure.reason, description: "\(endpoint): \(error.failure.description)")
        }
    }

    private func exchange(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: ArraySlice<UInt8>,
                          keepAlive: Bool) throws(Attempt) -> HTTPClient.Response {
        let reused = open != nil
        var answered = false
        do {
            let stream = try open?.stream ?? connect(endpoint)
            request.removeAll(keepingCapacity: true)
            let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
            var head = "\(method) \(endpoint.path) HTTP/1.1\r\nHost: \(host):\(endpoint.port)\r\nUser-Agent: pipetrace\r\n"
            if !keepAlive { head += "Connection: close\r\n" }
            head += "Content-Length: \(body.count)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            request.append(contentsOf: head.utf8)
            request.append(contentsOf: body)
            try stream.writeAll(request)
            if request.capacity > 4 << 20 { request = [] }
            let (response, reusable) = try read(stream, method, &answered)
            if reusable && keepAlive { open?.lastUsed = .now } else { close() }
            return response
        } catch let failure as Socket.Failure {
            close()
            throw Attempt(failure: HTTPClient.Failure(reason: failure.reason, description: failure.description),
                          retryable: reused && !answered && failure.reason == "io")
        } catch let failure as HTTPClient.Failure {
            close()
            throw Attempt(failure: failure, retryable: reused && !answered && failure.reason == "io")
        } catch {
            close()
            throw Attempt(failure: HTTPClient.Failure(reason: "io", description: "\(error)"), retryable: false)
        }
    }

    private func connect(_ endpoint: HTTPEndpoint) throws -> any ByteStream {
        let socket = try Socket.connect(host: endpoint.host, port: endpoint.port, timeout: client.timeout)
        if let (ip, port) = socket.localAddress(), let (remoteIP, remotePort) = socket.remoteAddress() {
            client.onConnect(HTTPClient.Connection(localIP: ip, localPort: port, remoteIP: remoteIP, remotePort: remotePort))
        }
        let stream: any ByteStream = endpoint.isTLS ? try tlsContext().connect(socket, host: endpoint.host, port: endpoint.port) : socket
        open = Open(origin: Origin(isTLS: endpoint.isTLS, host: endpoint.host, port: endpoint.port), stream: stream, lastUsed: .now)
        return stream
    }

    private func tlsContext() throws(HTTPClient.Failure) -> TLSContext {
        if let tls = client.tls ?? defaultTLS { return tls }
        do { defaultTLS = try TLSContext() } catch { throw HTTPClient.Failure(reason: "tls", description: error.description) }
        return defaultTLS!
    }

    /// Reads more of the response; false at the end of the stream.
    private func fill(_ stream: any ByteStream) throws(Socket.Failure) -> Bool {
        let n = try stream.read(into: chunk)
        received.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
        return n > 0
    }

    /// Reads one response: it, and whether the connection can carry another request.
    private func read(_ stream: any ByteStream, _ method: String, _ answered: inout Bool) throws -> (HTTPClient.Response, Bool) {
        received.removeAll(keepingCapacity: true)
        defer { if received.capacity > 4 << 20 { received = [] } }
        var scanned = 0
        while true {
            guard let headEnd = Self.headEnd(received, from: max(0, scanned - 3)) else {
                guard received.count <= Self.maxHead else { throw HTTPClient.Failure(reason: "protocol", description: "not an HTTP response") }
                scanned = received.count
                guard try fill(stream) else {
                    throw HTTPClient.Failure(reason: received.isEmpty ? "io" : "protocol",
                                             description: received.isEmpty ? "connection closed without a response" : "not an HTTP response")
                }
                answered = true
                continue
            }
            let head = try Head(received[..<headEnd])
            if (100..<200).contains(head.status) {
                // An interim response (100 Continue): the real one follows.
                received.removeFirst(headEnd)
                scanned = 0
                continue
            }
            var reusable = head.keepAlive
            let body: [UInt8]
            if method == "HEAD" || head.status == 204 || head.status == 304 {
                body = []
                reusable = reusable && received.count == headEnd
            } else if head.chunked {
                var end = try Self.chunkedEnd(received, from: headEnd)
                while end == nil, received.count - headEnd <= Self.maxBody, try fill(stream) {
                    end = try Self.chunkedEnd(received, from: headEnd)
                }
                body = Self.dechunk(received[headEnd..<(end ?? received.count)])
                reusable = reusable && end == received.count
            } else if let length = head.contentLength {
                let want = headEnd + min(length, Self.maxBody)
                while received.count < want, try fill(stream) {}
                body = Array(received[headEnd..<min(want, received.count)])
                reusable = reusable && length <= Self.maxBody && received.count == want
            } else {
                // Delimited by the close.
                while received.count - headEnd <= Self.maxBody, try fill(stream) {}
                body = Array(received[headEnd..<min(received.count, headEnd + Self.maxBody)])
                reusable = false
            }
            return (HTTPClient.Response(status: head.status, body: body), reusable)
        }
    }

    /// The index just past the blank line that ends a response's head, searching from `from`.
    static func headEnd(_ bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = from
        while i + 4 <= bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    /// The index just past the end of a chunked body that starts at `start`, nil while it is incomplete.
    static func chunkedEnd(_ bytes: [UInt8], from start: Int) throws(HTTPClient.Failure) -> Int? {
        var i = start
        while true {
            guard let lineEnd = bytes[i...].firstIndex(of: 10) else { return nil }
            guard let size = Self.chunkSize(bytes[i...lineEnd]) else {
                throw HTTPClient.Failure(reason: "protocol",
                                         description: "bad chunk size '\(String(decoding: bytes[i..<lineEnd], as: UTF8.self))'")
            }
            if size == 0 {
                // Trailer lines, up to an empty one.
                var j = lineEnd + 1
                while true {
                    guard let end = bytes[j...].firstIndex(of: 10) else { return nil }
                    if end == j || (end == j + 1 && bytes[j] == 13) { return end + 1 }
                    j = end + 1
                }
            }
            // A size past what arrived is incomplete (compared so that no size the peer sends can overflow).
            guard size <= bytes.count - lineEnd - 1 else { return nil }
            i = lineEnd + 1 + size + 2
            guard i <= bytes.count else { return nil }
        }
    }

    /// A chunk-size line's size (`HTTPHead`'s grammar, up to `Int.max`); nil if it is none.
    static func chunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        (try? HTTPHead.chunkSize(line, maxDigits: 16)).flatMap { Int(exactly: $0) }
    }

    /// The payload of a chunked body (trailers ignored); what arrived of a chunk cut short.
    static func dechunk(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex, let lineEnd = bytes[i...].firstIndex(of: 10),
              let size = Self.chunkSize(bytes[i...lineEnd]), size > 0 {
            let start = lineEnd + 1
            guard size <= bytes.endIndex - start else { out += bytes[start...]; break }
            out += bytes[start..<start + size]
            i = start + size + 2
        }
        return out
    }

    /// A response's status line and the headers that frame it, read by
    /// `HTTPHead` (the analyzer's grammar): a request, or anything outside the grammar, is no response.
    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked: Bool
        /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
        var keepAlive: Bool

        init(_ bytes: ArraySlice<UInt8>) throws(HTTPClient.Failure) {
            guard let head = try? HTTPHead(bytes, readingConnection: true), let status = head.status else {
                throw HTTPClient.Failure(reason: "protocol", description: "not an HTTP response")
            }
            self.status = status
            contentLength = head.contentLength.map { Int(clamping: $0) }
            chunked = head.isChunked
            keepAlive = head.keepAlive
        }
    }
}
