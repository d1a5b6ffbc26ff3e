import Foundation
import Glibc
import Synchronization

/// The `/metrics` endpoint: a listening socket and one thread that answers
/// each connection in turn (a scrape every few seconds needs no more).
/// `GET /metrics` gets the exposition text, anything else 404.
public final class MetricsServer: Sendable {
    private let listener: Int32
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private let stopped = Flag()
    /// The address actually bound (port 0 in the request picks a free one).
    public let host: String
    public let port: UInt16

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds and starts answering; `render` is called on the server's thread.
    public init(host: String, port: UInt16, render: @escaping @Sendable () -> [UInt8]) throws(Failure) {
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
        let thread = Thread { [listener, stopped] in
            while !stopped.value.load(ordering: .relaxed) {
                let client = accept(listener, nil, nil)
                guard client >= 0 else {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                MetricsServer.answer(Socket(fd: client), render)
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

    static func answer(_ socket: Socket, _ render: () -> [UInt8]) {
        socket.setTimeout(5)
        var request: [UInt8] = []
        while !request.contains(10), request.count < 8192 {
            guard let chunk = try? socket.read(max: 4096), !chunk.isEmpty else { return }
            request += chunk
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let path = line.count >= 2 ? line[1].split(separator: "?").first.map(String.init) ?? "" : ""
        let response: [UInt8]
        if line.first == "GET" && path == "/metrics" {
            let body = render()
            response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        } else {
            let body = Array("not found: pipetrace serves GET /metrics\n".utf8)
            response = Array("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        }
        try? socket.writeAll(response)
    }
}
