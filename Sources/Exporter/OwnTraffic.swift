import Analyzer
import Synchronization

/// Recognizes the records of pipetrace's own export traffic. The probe
/// never traces pipetrace's process (`self_tgid` in the kernel), but the
/// other end is traced like any process: victoria-metrics reading our
/// remote write, a scraper reading `/metrics`. Those records are left out,
/// or every export would be measured and exported in turn (a feedback loop).
///
/// Our client sockets are remembered by local address as they connect (the
/// last `capacity` of them); our server is known by its listening address.
public final class OwnTraffic: Sendable {
    private struct State {
        var clients: Set<Endpoint> = []
        var order: [Endpoint] = []
        /// One bit per port some client of ours has: most records are told apart by it, without hashing.
        var ports = [UInt64](repeating: 0, count: 1024)

        func hasPort(_ port: UInt16) -> Bool { ports[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }

        mutating func setPort(_ port: UInt16, _ on: Bool) {
            if on { ports[Int(port >> 6)] |= 1 << UInt64(port & 63) } else { ports[Int(port >> 6)] &= ~(1 << UInt64(port & 63)) }
        }
    }

    struct Endpoint: Hashable {
        var ip: String
        var port: UInt16
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let listen: (host: String, port: UInt16)?

    /// `listen`: the /metrics server's bound address (host "0.0.0.0" or "::" matches any address).
    public init(listen: (host: String, port: UInt16)? = nil, capacity: Int = 4096) {
        self.listen = listen
        self.capacity = capacity
    }

    /// Called by the HTTP client as each of our connections opens.
    public func connected(ip: String, port: UInt16) {
        state.withLock { s in
            let e = Endpoint(ip: ip, port: port)
            guard s.clients.insert(e).inserted else { return }
            s.order.append(e)
            s.setPort(port, true)
            if s.order.count > capacity {
                let old = s.order.removeFirst()
                s.clients.remove(old)
                s.setPort(old.port, s.order.contains { $0.port == old.port })
            }
        }
    }

    /// Whether the record is an exchange pipetrace itself took part in.
    public func contains(_ record: RequestRecord) -> Bool {
        if let listen, record.server.port == listen.port,
           ["0.0.0.0", "::", ""].contains(listen.host) || record.server.ip == listen.host {
            return true
        }
        guard let ip = record.client.ip, let port = record.client.port else { return false }
        return state.withLock { $0.hasPort(port) && $0.clients.contains(Endpoint(ip: ip, port: port)) }
    }
}
