import Analyzer
import ExporterCore
import Foundation
import Glibc
import Synchronization

/// The `/metrics` endpoint: a listening socket, one thread accepting, and
/// a thread per connection, so a client that connects and sends nothing
/// (or sends slowly) never holds up a scrape. Bounded: at most
/// `maxConnections` answered at once (one more is told 503 and closed), a
/// request head of at most 8 KiB (else 431), and `timeout` seconds in all to
/// send it. `GET /metrics` gets the exposition text, anything else 404.
public final class MetricsServer: Sendable {
    private let listener: Int32
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private final class Count: Sendable { let value = Atomic<Int>(0) }
    private let stopped = Flag()
    private let connections = Count()
    public static let maxRequestBytes = 8192
    /// The address actually bound (port 0 in the request picks a free one).
    public let host: String
    public let port: UInt16

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds and starts answering; `render` is called on the server's thread.
    public init(host: String, port: UInt16, maxConnections: Int = 16, timeout: Double = 5,
                render: @escaping @Sendable () -> [UInt8]) throws(Failure) {
        let addresses: [(Int32, [UInt8])]
        do { addresses = try Socket.resolve(host, port, passive: true) } catch {
            throw Failure(description: "--listen \(host):\(port): \(error.description)")
        }
        guard let (family, address) = addresses.first else { throw Failure(description: "--listen \(host):\(port): no address") }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withUnsafeBytes { Glibc.bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count)) }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "--listen \(host):\(port): \(message)")
        }
        listener = fd
        let local = Socket(fd: dup(fd)).localAddress()
        self.host = local?.0 ?? host
        self.port = local?.1 ?? port
        let thread = Thread { [listener, stopped, connections] in
            while !stopped.value.load(ordering: .relaxed) {
                let client = accept(listener, nil, nil)
                guard client >= 0 else {
                    // Out of descriptors or memory: wait for connections to end rather than spin.
                    if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { usleep(50_000); continue }
                    if errno == EINTR || errno == ECONNABORTED || errno == EPROTO { continue }
                    return
                }
                guard connections.value.add(1, ordering: .relaxed).newValue <= maxConnections else {
                    connections.value.subtract(1, ordering: .relaxed)
                    let socket = Socket(fd: client)
                    socket.setTimeout(1)
                    try? socket.writeAll(MetricsServer.response(503, "Service Unavailable", "pipetrace: too many connections to /metrics\n"))
                    continue
                }
                Thread {
                    MetricsServer.answer(Socket(fd: client), timeout: timeout, render)
                    connections.value.subtract(1, ordering: .relaxed)
                }.start()
            }
        }
        thread.start()
    }

    /// Stops accepting; the thread ends at its next wake-up.
    public func stop() {
        stopped.value.store(true, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit { close(listener) }

    /// Reads one request line within `timeout` seconds in all (a client
    /// sending a byte at a time gets no more) and answers it.
    static func answer(_ socket: Socket, timeout: Double, _ render: () -> [UInt8]) {
        let deadline = Date().addingTimeInterval(timeout)
        var request: [UInt8] = []
        while !request.contains(10) {
            guard request.count < maxRequestBytes else {
                try? socket.writeAll(response(431, "Request Header Fields Too Large", "pipetrace: request too large\n"))
                return
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return }
            socket.setTimeout(left)
            guard let chunk = try? socket.read(max: maxRequestBytes - request.count), !chunk.isEmpty else { return }
            request += chunk
        }
        socket.setTimeout(timeout)
        // The request line alone, by the analyzer's grammar (`HTTPHead`); the headers are not needed.
        let head = try? HTTPHead(request[...(request.firstIndex(of: 10) ?? request.endIndex - 1)])
        if let head, head.isRequest, head.method == "GET", head.target.split(separator: "?").first == "/metrics" {
            let body = render()
            try? socket.writeAll(Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body)
        } else {
            try? socket.writeAll(response(404, "Not Found", "not found: pipetrace serves GET /metrics\n"))
        }
    }

    private static func response(_ status: Int, _ reason: String, _ text: String) -> [UInt8] {
        Array("HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)".utf8)
    }
}
