/// What the probe saw in the kernel, decoded. The unit the Analyzer consumes.
public enum ProbeEvent: Sendable {
    case data(DataEvent)
    case connectionOpened(ConnectionEvent)
    case connectionClosed(ConnectionEvent)
    case stateChanged(StateChangeEvent)
    case retransmit(RetransmitEvent)
    case reset(ResetEvent)
    /// A TCP packet of a traced connection (only when packet capture is on).
    case packet(PacketEvent)

    /// The fields every event has.
    public var header: EventHeader {
        get {
            switch self {
            case .data(let e): e.header
            case .connectionOpened(let e), .connectionClosed(let e): e.header
            case .stateChanged(let e): e.header
            case .retransmit(let e): e.header
            case .reset(let e): e.header
            case .packet(let e): e.header
            }
        }
        set {
            switch self {
            case .data(var e): e.header = newValue; self = .data(e)
            case .connectionOpened(var e): e.header = newValue; self = .connectionOpened(e)
            case .connectionClosed(var e): e.header = newValue; self = .connectionClosed(e)
            case .stateChanged(var e): e.header = newValue; self = .stateChanged(e)
            case .retransmit(var e): e.header = newValue; self = .retransmit(e)
            case .reset(var e): e.header = newValue; self = .reset(e)
            case .packet(var e): e.header = newValue; self = .packet(e)
            }
        }
    }

    /// Short name used in output ("data", "open", ...).
    public var kindName: String {
        switch self {
        case .data: "data"
        case .connectionOpened: "open"
        case .connectionClosed: "close"
        case .stateChanged: "state"
        case .retransmit: "retransmit"
        case .reset: "reset"
        case .packet: "packet"
        }
    }
}

/// Who raised an event, where, when, and on which connection.
public struct EventHeader: Sendable, Hashable {
    /// pipetrace's id for the socket, unique while one probe runs; 0 if unknown.
    ///
    /// First, so that the memberwise initializer (`EventHeader(connectionID:
    /// pid:…)`, what the decoder uses per event) is not the public one (in an
    /// extension): a header made by the memberwise initializer is made in
    /// place, one made by an initializer that assigns field by field is made
    /// aside and copied (a retain and a release of each of its strings).
    public var connectionID: UInt64
    /// Process id (the kernel's tgid); 0 when the event came from softirq
    /// context on a socket pipetrace had not seen a process use.
    public var pid: UInt32
    public var tid: UInt32
    public var comm: String
    /// Inode of the network namespace the socket lives in.
    public var netns: UInt32
    /// cgroup v2 id of the process.
    public var cgroupID: UInt64
    /// CLOCK_MONOTONIC nanoseconds.
    public var timestamp: UInt64
    public var tuple: SocketTuple
    /// Where the process lives: its container's name (or short id when the
    /// runtime's state is not readable), else the `ip netns` name, else
    /// "host". Filled in by the probe as it decodes; nil until then.
    public var container: String?
    /// The container's short id (12 hex digits) when the process is in one.
    public var containerID: String?
}

/// What the probe names a process's place by: `EventHeader.container` and `containerID`.
public struct ContainerLabel: Sendable, Hashable {
    public var name: String
    /// The container's short id; nil outside a container (a namespace, the host).
    public var id: String?

    public init(name: String, id: String? = nil) {
        self.name = name
        self.id = id
    }
}

extension EventHeader {
    /// A header from its fields, `container` to be named later.
    public init(pid: UInt32, tid: UInt32, comm: String, netns: UInt32, cgroupID: UInt64,
                connectionID: UInt64, timestamp: UInt64, tuple: SocketTuple, container: String? = nil,
                containerID: String? = nil) {
        self.init(connectionID: connectionID, pid: pid, tid: tid, comm: comm, netns: netns, cgroupID: cgroupID,
                  timestamp: timestamp, tuple: tuple, container: container, containerID: containerID)
    }
}

/// Which way bytes moved, seen from the process.
public enum Direction: String, Sendable, Hashable {
    /// The process wrote (sent) them.
    case egress
    /// The process read (received) them.
    case ingress
}

/// Which end of the connection the process is.
public enum Role: String, Sendable, Hashable {
    case client, server, unknown
}

/// The syscall behind a data event.
public enum Syscall: String, Sendable, Hashable, CaseIterable {
    case read, readv, recvfrom, recvmsg, recvmmsg
    case write, writev, sendto, sendmsg, sendmmsg, sendfile
    /// TLS plaintext through OpenSSL (SSL_read or SSL_read_ex; SSL_write or SSL_write_ex), not a syscall.
    case sslRead = "ssl_read", sslWrite = "ssl_write"
}

/// Bytes one syscall moved on a TCP socket.
public struct DataEvent: Sendable, Hashable {
    public var header: EventHeader
    /// CLOCK_MONOTONIC ns at syscall entry; `header.timestamp` is its exit.
    public var enterTimestamp: UInt64
    public var direction: Direction
    public var syscall: Syscall
    public var fd: Int32
    public var role: Role
    /// Bytes the syscall moved: the true length, even when `payload` is shorter.
    public var length: UInt64
    /// The first bytes moved, up to the probe's payload cap.
    public var payload: [UInt8]
    /// The bytes could not be captured at all (sendfile reads them from a file).
    public var payloadUnavailable: Bool
    /// Reading the process's buffer failed for part of it.
    public var readFault: Bool
    /// The call began before the probe attached (a read already waiting):
    /// `enterTimestamp` is then the exit time, the entry is unknown.
    public var entryUnseen: Bool
    /// The plaintext of a TLS connection, from the TLS library: the
    /// connection's ciphertext is not reported once this is known.
    public var tls: Bool

    public init(header: EventHeader, enterTimestamp: UInt64, direction: Direction, syscall: Syscall,
                fd: Int32, role: Role, length: UInt64, payload: [UInt8],
                payloadUnavailable: Bool = false, readFault: Bool = false, entryUnseen: Bool = false, tls: Bool = false) {
        self.header = header
        self.enterTimestamp = enterTimestamp
        self.direction = direction
        self.syscall = syscall
        self.fd = fd
        self.role = role
        self.length = length
        self.payload = payload
        self.payloadUnavailable = payloadUnavailable
        self.readFault = readFault
        self.entryUnseen = entryUnseen
        self.tls = tls
    }

    /// Fewer bytes captured than moved: the cap cut the payload.
    public var isTruncated: Bool { UInt64(payload.count) < length }
}

/// A socket opened by connect() (client) or accept() (server), or closed.
public struct ConnectionEvent: Sendable, Hashable {
    public var header: EventHeader
    public var fd: Int32
    public var role: Role
    /// connect()'s return: 0, or -EINPROGRESS for a non-blocking connect.
    public var result: Int32

    public init(header: EventHeader, fd: Int32, role: Role, result: Int32 = 0) {
        self.header = header
        self.fd = fd
        self.role = role
        self.result = result
    }
}

/// A TCP state change (handshake, teardown).
public struct StateChangeEvent: Sendable, Hashable {
    public var header: EventHeader
    public var oldState: TCPState
    public var newState: TCPState

    public init(header: EventHeader, oldState: TCPState, newState: TCPState) {
        self.header = header
        self.oldState = oldState
        self.newState = newState
    }
}

/// The kernel sent a segment again.
public struct RetransmitEvent: Sendable, Hashable {
    public var header: EventHeader
    /// Segments in the retransmitted skb: what the kernel's TcpRetransSegs counts.
    public var segments: UInt32
    /// First sequence number of the retransmitted data.
    public var sequence: UInt32
    public var state: TCPState
    /// 0 when the segment left the host; otherwise the -errno of the attempt.
    public var error: Int32

    public init(header: EventHeader, segments: UInt32, sequence: UInt32, state: TCPState, error: Int32) {
        self.header = header
        self.segments = segments
        self.sequence = sequence
        self.state = state
        self.error = error
    }
}

/// A TCP reset sent or received on a connection.
public struct ResetEvent: Sendable, Hashable {
    public var header: EventHeader
    public var sent: Bool
    public var state: TCPState

    public init(header: EventHeader, sent: Bool, state: TCPState) {
        self.header = header
        self.sent = sent
        self.state = state
    }
}

/// TCP states as include/net/tcp_states.h numbers them.
public enum TCPState: UInt16, Sendable, Hashable {
    case established = 1, synSent, synReceived, finWait1, finWait2, timeWait, close, closeWait, lastAck, listen,
         closing, newSynReceived, boundInactive
    case unknown = 0

    public init(kernel value: UInt16) { self = TCPState(rawValue: value) ?? .unknown }

    /// The kernel's name, as `ss` prints it.
    public var name: String {
        switch self {
        case .established: "ESTABLISHED"
        case .synSent: "SYN_SENT"
        case .synReceived: "SYN_RECV"
        case .finWait1: "FIN_WAIT1"
        case .finWait2: "FIN_WAIT2"
        case .timeWait: "TIME_WAIT"
        case .close: "CLOSE"
        case .closeWait: "CLOSE_WAIT"
        case .lastAck: "LAST_ACK"
        case .listen: "LISTEN"
        case .closing: "CLOSING"
        case .newSynReceived: "NEW_SYN_RECV"
        case .boundInactive: "BOUND_INACTIVE"
        case .unknown: "UNKNOWN"
        }
    }
}
