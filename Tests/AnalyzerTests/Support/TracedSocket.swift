import TestSupport
import Analyzer
import Events

/// One traced socket for hand-made events: who owns it, where it lives, and
/// which end of the connection it is.
struct TracedSocket {
    var connectionID: UInt64
    var netns: UInt32
    var pid: UInt32
    var tid: UInt32
    var comm: String
    var container: String?
    var containerID: String?
    var tuple: SocketTuple
    var role: Role

    static let clientEndpoint = Endpoint(address: IPAddress("10.0.0.1")!, port: 40000)
    static let serverEndpoint = Endpoint(address: IPAddress("10.0.0.2")!, port: 8080)

    /// The client end of 10.0.0.1:40000 → 10.0.0.2:8080.
    static func client(id: UInt64 = 1, netns: UInt32 = 100, pid: UInt32 = 1000, tid: UInt32? = nil,
                       comm: String = "curl", container: String? = "app",
                       local: Endpoint = clientEndpoint, remote: Endpoint = serverEndpoint,
                       role: Role = .client) -> TracedSocket {
        TracedSocket(connectionID: id, netns: netns, pid: pid, tid: tid ?? pid, comm: comm, container: container,
                     tuple: SocketTuple(local: local, remote: remote), role: role)
    }

    /// The server end of the same connection, in another namespace.
    static func server(id: UInt64 = 2, netns: UInt32 = 200, pid: UInt32 = 2000, tid: UInt32? = nil,
                       comm: String = "api", container: String? = "api",
                       local: Endpoint = serverEndpoint, remote: Endpoint = clientEndpoint,
                       role: Role = .server) -> TracedSocket {
        TracedSocket(connectionID: id, netns: netns, pid: pid, tid: tid ?? pid, comm: comm, container: container,
                     tuple: SocketTuple(local: local, remote: remote), role: role)
    }

    func header(_ timestamp: UInt64) -> EventHeader {
        EventHeader(pid: pid, tid: tid, comm: comm, netns: netns, cgroupID: 1, connectionID: connectionID,
                    timestamp: timestamp, tuple: tuple, container: container, containerID: containerID)
    }

    func data(_ direction: Direction, _ payload: [UInt8], enter: UInt64, exit: UInt64, length: UInt64? = nil,
              unavailable: Bool = false) -> ProbeEvent {
        .data(DataEvent(header: header(exit), enterTimestamp: enter, direction: direction,
                        syscall: direction == .egress ? .write : .read, fd: 5, role: role,
                        length: length ?? UInt64(payload.count), payload: payload, payloadUnavailable: unavailable))
    }

    /// The process wrote `text` (of which only the first bytes may be captured).
    func write(_ text: String, enter: UInt64, exit: UInt64, length: UInt64? = nil) -> ProbeEvent {
        data(.egress, Array(text.utf8), enter: enter, exit: exit, length: length)
    }

    /// The process read `text`.
    func read(_ text: String, enter: UInt64, exit: UInt64, length: UInt64? = nil) -> ProbeEvent {
        data(.ingress, Array(text.utf8), enter: enter, exit: exit, length: length)
    }

    func close(at timestamp: UInt64) -> ProbeEvent {
        .connectionClosed(ConnectionEvent(header: header(timestamp), fd: 5, role: role))
    }

    func open(at timestamp: UInt64) -> ProbeEvent {
        .connectionOpened(ConnectionEvent(header: header(timestamp), fd: 5, role: role))
    }

    /// A retransmit as the kernel reports it: from softirq, no process, maybe no socket id.
    func retransmit(at timestamp: UInt64, segments: UInt32, error: Int32 = 0, withID: Bool = true) -> ProbeEvent {
        var h = header(timestamp)
        h.pid = 0
        h.tid = 0
        h.comm = ""
        if !withID { h.connectionID = 0 }
        return .retransmit(RetransmitEvent(header: h, segments: segments, sequence: 1, state: .established, error: error))
    }
}

/// Runs events through a fresh analyzer, then finishes it.
func analyze(_ events: [ProbeEvent], _ configuration: AnalyzerConfiguration = AnalyzerConfiguration())
    -> (records: [RequestRecord], analyzer: Analyzer) {
    var analyzer = Analyzer(configuration: configuration)
    var records: [RequestRecord] = []
    for event in events { records += analyzer.process(event) }
    records += analyzer.finish()
    return (records, analyzer)
}
