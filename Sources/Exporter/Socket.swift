import Glibc

/// A TCP socket descriptor, closed when the value's owner is done with it.
/// The exporter's HTTP client and server are small enough for plain POSIX
/// calls; a framework would cost more build time than the code it saves.
final class Socket {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    struct Failure: Error, CustomStringConvertible {
        /// A short word for metrics: "resolve", "connect", "timeout", "io", "bind".
        let reason: String
        let description: String
    }

    static func lastError(_ reason: String, _ what: String) -> Failure {
        let code = errno
        let reason = (code == EAGAIN || code == EWOULDBLOCK || code == ETIMEDOUT) ? "timeout" : reason
        return Failure(reason: reason, description: "\(what): \(String(cString: strerror(code)))")
    }

    /// Addresses for host:port (numeric or by name).
    static func resolve(_ host: String, _ port: UInt16, passive: Bool = false) throws(Failure) -> [(Int32, [UInt8])] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw Failure(reason: "resolve", description: "\(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var out: [(Int32, [UInt8])] = []
        var p: UnsafeMutablePointer<addrinfo>? = list
        while let a = p {
            let bytes = UnsafeRawBufferPointer(start: a.pointee.ai_addr, count: Int(a.pointee.ai_addrlen))
            out.append((a.pointee.ai_family, Array(bytes)))
            p = a.pointee.ai_next
        }
        return out
    }

    static func connect(host: String, port: UInt16, timeout: Double) throws(Failure) -> Socket {
        var last = Failure(reason: "connect", description: "\(host):\(port): no address")
        for (family, address) in try resolve(host, port) {
            let s = Socket(fd: socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
            guard s.fd >= 0 else { throw lastError("connect", "socket") }
            s.setTimeout(timeout)
            // A request is one write, then a wait for the answer: nothing to gain from Nagle's delay on its last segment.
            var one: Int32 = 1
            setsockopt(s.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let ok = address.withUnsafeBytes {
                Glibc.connect(s.fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
            }
            if ok == 0 { return s }
            last = lastError("connect", "connect to \(host):\(port)")
        }
        throw last
    }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func writeAll(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Socket.lastError("io", "send")
            }
            offset += n
        }
    }

    /// Up to `max` bytes; empty at the end of the stream.
    func read(max: Int = 65536) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = try buffer.withUnsafeMutableBytes { b in Result { () throws(Failure) -> Int in try read(into: b) } }.get()
        buffer.removeLast(max - n)
        return buffer
    }

    /// Reads up to `buffer.count` bytes into `buffer`: how many, 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw Socket.lastError("io", "recv")
            }
            return n
        }
    }

    /// The local address as (ip text, port).
    func localAddress() -> (String, UInt16)? { address(getsockname) }

    /// The peer's address as (ip text, port).
    func remoteAddress() -> (String, UInt16)? { address(getpeername) }

    private func address(_ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> (String, UInt16)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        return Socket.text(storage)
    }

    static func text(_ storage: sockaddr_storage) -> (String, UInt16)? {
        var s = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let ok = withUnsafePointer(to: &s) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), &service,
                            socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard ok == 0 else { return nil }
        var ip = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if ip.hasPrefix("::ffff:") { ip = String(ip.dropFirst(7)) }
        return (ip, UInt16(String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) ?? 0)
    }
}
