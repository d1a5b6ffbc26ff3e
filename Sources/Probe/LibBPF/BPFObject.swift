internal import CLibBPF
internal import CPipetraceBPF
import Glibc

/// One of pipetrace's BPF objects, opened through its generated skeleton: its
/// programs, its maps and its `const volatile` settings, written into the
/// skeleton's typed rodata when it is opened. Owns the skeleton; everything
/// taken from it (maps, programs, links) keeps it alive, and closing it
/// unloads what the kernel holds for it. An object loads once: to retry
/// without a refused program, open it again.
public final class BPFObject {
    private let skeleton: OpaquePointer
    let object: OpaquePointer
    public let name: String

    /// The objects embedded in the binary, by name, in load order.
    public enum Kind: String, CaseIterable, Sendable {
        case sockio, conn, tcp, packets, tls

        var cKind: pt_object_kind {
            switch self {
            case .sockio: PT_OBJECT_SOCKIO
            case .conn: PT_OBJECT_CONN
            case .tcp: PT_OBJECT_TCP
            case .packets: PT_OBJECT_PACKETS
            case .tls: PT_OBJECT_TLS
            }
        }
    }
    public let kind: Kind

    /// Whether this binary carries its BPF objects (bpf/Makefile ran before `swift build`).
    public static var embedded: Bool { pt_bpf_embedded() }

    /// Opens the object `kind` with `settings` as its constants.
    init(_ kind: Kind, settings: pt_settings) throws(BPFError) {
        LibBPFLog.install()
        var settings = settings
        guard let skeleton = pt_skeleton_open(kind.cKind, &settings), let object = pt_skeleton_object(skeleton) else {
            throw BPFError.from("open BPF object \(kind.rawValue)")
        }
        self.skeleton = skeleton
        self.object = object
        self.kind = kind
        name = kind.rawValue
    }

    deinit {
        pt_skeleton_destroy(skeleton)
    }

    public var programs: [BPFProgram] {
        var out: [BPFProgram] = []
        var cursor = bpf_object__next_program(object, nil)
        while let program = cursor {
            out.append(BPFProgram(program: program, owner: self))
            cursor = bpf_object__next_program(object, program)
        }
        return out
    }

    public func program(named name: String) -> BPFProgram? {
        bpf_object__find_program_by_name(object, name).map { BPFProgram(program: $0, owner: self) }
    }

    /// The maps every object shares, by the skeleton's member names.
    struct SharedMaps {
        var events, conns, listeners, connSeq, stats, filterPIDs, filterNetns, filterCgroups, filterPorts, tlsCalls, tlsCallsOpen, tlsSockets: BPFMap
        /// The object's per-CPU scratch map, if it has one.
        var scratch: BPFMap?
        /// The TLS object's pids that ran a new program.
        var execs: BPFMap?
        var all: [BPFMap] {
            [events, conns, listeners, connSeq, stats, filterPIDs, filterNetns, filterCgroups, filterPorts, tlsCalls, tlsCallsOpen, tlsSockets]
        }
    }

    var maps: SharedMaps {
        let m = pt_skeleton_maps(skeleton)
        let map = { (pointer: OpaquePointer?) in BPFMap(map: pointer!, owner: self) }
        return SharedMaps(events: map(m.events), conns: map(m.conns), listeners: map(m.listeners), connSeq: map(m.conn_seq), stats: map(m.stats),
                          filterPIDs: map(m.filter_pids), filterNetns: map(m.filter_netns),
                          filterCgroups: map(m.filter_cgroups), filterPorts: map(m.filter_ports),
                          tlsCalls: map(m.tls_calls), tlsCallsOpen: map(m.tls_calls_open), tlsSockets: map(m.tls_sockets),
                          scratch: m.scratch.map { BPFMap(map: $0, owner: self) },
                          execs: m.execs.map { BPFMap(map: $0, owner: self) })
    }

    /// Loads the programs (the verifier runs here) and creates the maps. When
    /// the kernel refuses a program, the error's `rejection` names it, with
    /// the verifier's whole log written to a file in `logDirectory`.
    public func load(logDirectory: String = "/tmp") throws(BPFError) {
        _ = LibBPFLog.shared.takeRejection()
        let rc = bpf_object__load(object)
        if rc != 0 {
            var error = BPFError.from("load BPF object \(name)", result: rc)
            if let refused = LibBPFLog.shared.takeRejection() {
                error.rejection = VerifierRejection(program: refused.program, log: refused.log, directory: logDirectory)
            }
            throw error
        }
    }

    /// Attaches every loaded program, cgroup programs to `cgroup`; on failure,
    /// what was attached is detached again (the links are released).
    public func attachAll(cgroup: String?) throws(BPFError) -> [BPFLink] {
        var links: [BPFLink] = []
        for program in programs where program.autoload {
            if program.attachesToCgroup {
                guard let cgroup else { throw BPFError("attach \(program.name): no cgroup given", errno: EINVAL) }
                links.append(try program.attach(cgroup: cgroup))
            } else {
                links.append(try program.attach())
            }
        }
        return links
    }
}
