/// What the probe can see, each served by some of its BPF programs. The
/// kernel may refuse one feature's programs (a verifier of another version,
/// a tracepoint it lacks): then the probe runs without that feature and says
/// so, unless the feature is core, which it cannot do without.
public enum ProbeFeature: String, CaseIterable, Sendable, Hashable {
    case socketIO = "socket I/O"
    case connections = "connections"
    case tcpStates = "TCP states"
    case multiMessage = "recvmmsg/sendmmsg"
    case sendfile = "sendfile"
    case sendfilePayloads = "sendfile payloads"
    case retransmits = "retransmits"
    case resets = "resets"
    case packetCapture = "packet capture"
    case tlsOpenSSL = "TLS (OpenSSL)"
    case tlsGo = "TLS (Go)"

    /// What the feature gives, in a user's words.
    public var summary: String {
        switch self {
        case .socketIO: "bytes read and written on TCP sockets (read, readv, recvfrom, recvmsg, write, writev, sendto, sendmsg)"
        case .connections: "connections opened, accepted and closed"
        case .tcpStates: "TCP state changes: handshakes, teardowns, the owner of a connecting socket"
        case .multiMessage: "bytes moved by recvmmsg and sendmmsg"
        case .sendfile: "bytes sent by sendfile, their length"
        case .sendfilePayloads: "the bytes sendfile sends, copied off the wire"
        case .retransmits: "retransmitted segments"
        case .resets: "resets sent and received"
        case .packetCapture: "packets of traced connections (capture)"
        case .tlsOpenSSL: "TLS plaintext of processes using libssl (uprobes on SSL_read/SSL_write), instead of ciphertext"
        case .tlsGo: "TLS plaintext of Go programs (uprobes on crypto/tls (*Conn).Read/Write, found in .gopclntab), instead of ciphertext"
        }
    }

    /// Without a core feature the probe refuses to run: nothing else makes sense without it.
    /// Packet capture is core only where it is asked for (`capture`).
    public var isCore: Bool { self == .socketIO || self == .connections || self == .packetCapture }

    /// The feature a program of `object` serves; every program of every object has one.
    static func of(program: String, in object: BPFObject.Kind) -> ProbeFeature? {
        switch object {
        case .sockio:
            if program == "capture_sendfile_bytes" { return .sendfilePayloads }
            if program.hasSuffix("_recvmmsg") || program.hasSuffix("_sendmmsg") { return .multiMessage }
            if program.hasSuffix("_sendfile64") { return .sendfile }
            let socketIO = ["read", "readv", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg"]
            if socketIO.contains(where: { program == "handle_enter_\($0)" || program == "handle_exit_\($0)" }) { return .socketIO }
        case .conn:
            if program == "handle_set_state" { return .tcpStates }
            if program.hasPrefix("handle_") { return .connections }
        case .tcp:
            if program.hasPrefix("handle_retransmit") { return .retransmits }
            if program.hasSuffix("_reset") { return .resets }
        case .packets:
            return .packetCapture
        case .tls:
            return program.hasPrefix("handle_go_tls_") ? .tlsGo : .tlsOpenSSL
        }
        return nil
    }
}

/// How a feature fares in a loaded probe.
public enum ProbeFeatureState: Sendable, Equatable {
    /// Its programs are loaded and attached.
    case active
    /// The kernel refused it (or lacks its hook): the probe runs without it.
    case degraded(reason: String)
    /// Not loaded because it was not asked for or cannot apply here (no cgroup v2), not a fault.
    case off(reason: String)

    /// "active", "degraded" or "off": the label in metrics and JSON.
    public var name: String {
        switch self {
        case .active: "active"
        case .degraded: "degraded"
        case .off: "off"
        }
    }
}

/// A loaded program, for `doctor` and the verifier budget test.
public struct ProbeProgram: Sendable {
    public var name: String
    /// The hook, from its ELF section ("tp/syscalls/sys_enter_read").
    public var section: String
    public var object: String
    public var feature: ProbeFeature
    /// Instructions the verifier processed to accept it (its share of the 1M limit).
    public var verifiedInstructions: Int?

    /// What any program may cost the verifier: a tenth of the kernel's 1M
    /// limit, so that another kernel's verifier, which may walk more states,
    /// still accepts it.
    public static let verifierBudget = 100_000
}
