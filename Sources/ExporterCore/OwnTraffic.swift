import Analyzer
import Synchronization

/// Recognizes the records of pipetrace's own export traffic. The probe
/// never traces pipetrace's process (`self_tgid` in the kernel), but the
/// other end is traced like any process: victoria-metrics reading our
/// remote write, a scraper reading `/metrics`. Those records are left out,
/// or every export would be measured and exported in turn (a feedback loop).
///
/// Our client sockets are remembered by both ends as they connect (the
/// last `capacity` of them): by the local address alone, another program's
/// connection that later gets the same local port (the kernel reuses
/// ephemeral ports; on loopback every client shares 127.0.0.1) would be
/// taken for ours and its record lost. Our server is known by its listening address.
public final class OwnTraffic: Sendable {
    private struct State {
        var clients: Set<ConnectionEnds> = []
        var order: [ConnectionEnds] = []
        /// One bit per port some client of ours has: most records are told apart by it, without hashing.
        var ports = [UInt64](repeating: 0, count: 1024)

        func hasPort(_ port: UInt16) -> Bool { ports[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }

        mutating func setPort(_ port: UInt16, _ on: Bool) {
            if on { ports[Int(port >> 6)] |= 1 << UInt64(port & 63) } else { ports[Int(port >> 6)] &= ~(1 << UInt64(port & 63)) }
        }
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
    public func connected(_ c: ConnectionEnds) {
        state.withLock { s in
            guard s.clients.insert(c).inserted else { return }
            s.order.append(c)
            s.setPort(c.localPort, true)
            if s.order.count > capacity {
                let old = s.order.removeFirst()
                s.clients.remove(old)
                s.setPort(old.localPort, s.order.contains { $0.localPort == old.localPort })
            }
        }
    }

    /// Whether the record is an exchange pipetrace itself took part in.
    public func contains(_ record: RequestRecord) -> Bool {
        if let listen, record.server.port == listen.port,
           ["0.0.0.0", "::", ""].contains(listen.host) || record.server.ip == listen.host {
            return true
        }
        guard let ip = record.client.ip, let port = record.client.port,
              let serverIP = record.server.ip, let serverPort = record.server.port else { return false }
        let c = ConnectionEnds(localIP: ip, localPort: port, remoteIP: serverIP, remotePort: serverPort)
        return state.withLock { $0.hasPort(port) && $0.clients.contains(c) }
    }
}
