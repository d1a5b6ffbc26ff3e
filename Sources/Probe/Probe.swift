internal import CPipetraceBPF
internal import CPipetraceEvents
import Events
import Glibc

/// The kernel side of pipetrace: loads and attaches the BPF programs
/// (tracepoints only), reads their ring buffer and hands out decoded events,
/// each with the container it came from. Detaches everything when released.
public final class Probe {
    /// The BPF objects, in load order: the first creates the shared maps.
    /// "packets" is loaded only when `capturePackets` asks for it.
    static let objectNames = ["sockio", "conn", "tcp", "packets"]
    /// Maps every object uses; created once, by the first object.
    static let sharedMaps = ["pt_events", "pt_conns", "pt_conn_seq", "pt_stats", "pt_listeners",
                             "pt_filter_pids", "pt_filter_netns", "pt_filter_cgroups", "pt_filter_ports"]

    public let configuration: ProbeConfiguration
    public let containers: ContainerResolver
    /// Maps event timestamps to wall-clock time.
    public let wallClock: WallClock
    private let objects: [BPFObject]
    private var links: [BPFLink]
    private var ring: RingBuffer!
    /// Owned by the probe; the ring buffer's callback works on it during `poll` and `drain`.
    private let receiver: UnsafeMutablePointer<EventReceiver>
    /// The cgroup v2 root the egress program is attached to; nil without cgroup v2.
    public let cgroupRoot: String?

    public init(configuration: ProbeConfiguration, containers: ContainerResolver = ContainerResolver()) throws(ProbeError) {
        try Probe.checkPrerequisites()
        guard configuration.payloadCap >= 0, configuration.payloadCap <= ProbeConfiguration.maximumPayloadCap else {
            throw .invalidConfiguration("the payload cap must be between 0 and \(ProbeConfiguration.maximumPayloadCap) bytes")
        }
        if configuration.capturePackets {
            guard configuration.snapLength >= 64, configuration.snapLength <= ProbeConfiguration.maximumSnapLength else {
                throw .invalidConfiguration("the snap length must be between 64 and \(ProbeConfiguration.maximumSnapLength) bytes")
            }
        }
        let ringBytes = configuration.ringBufferBytes
        guard ringBytes >= 4096, ringBytes & (ringBytes - 1) == 0 else {
            throw .invalidConfiguration("the ring buffer size must be a power of two of at least 4096 bytes")
        }
        self.configuration = configuration
        self.containers = containers
        wallClock = Probe.measureWallClock()
        cgroupRoot = KernelFilesystems.cgroup2Root()

        do {
            var objects: [BPFObject] = []
            for name in Probe.objectNames where name != "packets" || configuration.capturePackets {
                if name == "packets" && cgroupRoot == nil {
                    throw ProbeError.invalidConfiguration("packet capture needs cgroup v2 (its programs attach to the cgroup v2 root)")
                }
                var size = 0
                guard let bytes = pipetrace_bpf_object(name, &size) else { throw ProbeError.notBuiltWithBPF }
                let object = try BPFObject(elf: UnsafeRawBufferPointer(start: bytes, count: size), name: name)
                try Probe.configure(object, configuration)
                // sendfile's bytes come from cgroup egress; without cgroup v2 they are reported missing.
                object.program(named: "capture_sendfile_bytes")?.autoload = cgroupRoot != nil && configuration.sendfileBytes
                if let first = objects.first {
                    for map in Probe.sharedMaps { try object.map(named: map).reuse(try first.map(named: map)) }
                } else {
                    try object.map(named: "pt_events").setMaxEntries(UInt32(ringBytes))
                }
                if name == "sockio" {
                    try object.map(named: "pt_data_scratch").setMaxEntries(UInt32(max(1, BPFMap.possibleCPUs)))
                    try object.setConstant("sendfile_bytes", to: configuration.sendfileBytes)
                }
                if name == "packets" {
                    try object.setConstant("snaplen", to: UInt32(configuration.snapLength))
                    try object.map(named: "pt_packet_scratch").setMaxEntries(UInt32(max(1, BPFMap.possibleCPUs)))
                }
                try Probe.checkTracepoints(of: object)
                try object.load()
                objects.append(object)
            }
            self.objects = objects
            try Probe.fillFilters(objects[0], configuration)
            links = []
            for object in objects { links += try object.attachAll(cgroup: cgroupRoot) }
        } catch let error as ProbeError {
            throw error
        } catch let error as BPFError {
            throw .bpf(error)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        receiver = .allocate(capacity: 1)
        receiver.initialize(to: EventReceiver(containers: containers, payloadCap: configuration.payloadCap,
                                          sendfileBytes: configuration.sendfileBytes))
        do {
            // The ring is the probe's and calls back only inside its poll and drain, while the receiver lives.
            ring = try RingBuffer(map: try objects[0].map(named: "pt_events")) { [receiver] bytes in
                receiver.pointee.receive(bytes)
            }
        } catch {
            throw .bpf(error)
        }
    }

    deinit {
        ring = nil
        receiver.deinitialize(count: 1)
        receiver.deallocate()
    }

    /// Waits up to `timeoutMilliseconds` for events and hands each to `handler`,
    /// in ring-buffer order, as it is decoded.
    public func poll(timeoutMilliseconds: Int32, _ handler: (ProbeEvent) -> Void) throws(ProbeError) {
        do {
            _ = try withHandler(handler) { () throws(BPFError) in try ring.poll(timeoutMilliseconds: timeoutMilliseconds) }
        } catch {
            throw .bpf(error)
        }
    }

    /// Hands out what is still in the ring buffer (before stopping).
    public func drain(_ handler: (ProbeEvent) -> Void) {
        withHandler(handler) { _ = try? ring.drain() }
    }

    private func withHandler<T, E: Error>(_ handler: (ProbeEvent) -> Void, _ body: () throws(E) -> T) throws(E) -> T {
        try withoutActuallyEscaping(handler) { (handler) throws(E) -> T in
            receiver.pointee.handler = handler
            defer { receiver.pointee.handler = nil }
            return try body()
        }
    }

    /// Detaches every program now (also done when the probe is released).
    public func detach() {
        links.removeAll()
    }

    public var statistics: ProbeStatistics {
        var s = ProbeStatistics()
        if let stats = try? objects[0].map(named: "pt_stats") {
            s.lostEvents = stats.perCPUSum(key: PT_STAT_RINGBUF_FULL.rawValue)
            s.connectionTableFull = stats.perCPUSum(key: PT_STAT_CONN_TABLE_FULL.rawValue)
        }
        s.malformedEvents = receiver.pointee.malformed
        s.events = receiver.pointee.delivered
        return s
    }

    /// The programs attached, by name and hook (for `doctor` and messages).
    public var attachedPrograms: [(name: String, hook: String)] {
        objects.flatMap { $0.programs.filter(\.autoload).map { ($0.name, $0.section) } }
    }


    /// Root, BTF and the pseudo-filesystems, checked before anything is loaded.
    public static func checkPrerequisites() throws(ProbeError) {
        guard geteuid() == 0 else { throw .notRoot }
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else { throw .noBTF(path: "/sys/kernel/btf/vmlinux") }
        try KernelFilesystems.mountIfNeeded()
    }

    private static func configure(_ object: BPFObject, _ c: ProbeConfiguration) throws(BPFError) {
        try object.setConstant("self_tgid", to: UInt32(getpid()))
        try object.setConstant("payload_cap", to: UInt32(c.payloadCap))
        // Woken early only when a quarter of the ring waits: the poll's timer drains it at usual rates,
        // and every wakeup costs a context switch and a pass of the loop.
        try object.setConstant("wakeup_bytes", to: UInt64(c.ringBufferBytes / 4))
        try object.setConstant("filter_by_pid", to: !c.pids.isEmpty)
        try object.setConstant("filter_by_netns", to: !c.netns.isEmpty)
        try object.setConstant("filter_by_cgroup", to: !c.cgroups.isEmpty)
        try object.setConstant("filter_by_port", to: !c.ports.isEmpty)
        // tcp_retransmit_skb gained an `err` argument in 6.12: load the variant this kernel has.
        if let withErr = object.program(named: "handle_retransmit"),
           let without = object.program(named: "handle_retransmit_noerr") {
            let count = (try? KernelBTF())?.tracepointArgumentCount("tcp_retransmit_skb") ?? 2
            withErr.autoload = count >= 3
            without.autoload = count < 3
        }
    }

    private static func fillFilters(_ object: BPFObject, _ c: ProbeConfiguration) throws(BPFError) {
        let one: UInt8 = 1
        for pid in c.pids { try object.map(named: "pt_filter_pids").update(key: pid, value: one) }
        for ns in c.netns { try object.map(named: "pt_filter_netns").update(key: ns, value: one) }
        for cg in c.cgroups { try object.map(named: "pt_filter_cgroups").update(key: cg, value: one) }
        for port in c.ports { try object.map(named: "pt_filter_ports").update(key: port, value: one) }
    }

    /// Names the first tracepoint the kernel lacks, before libbpf fails on it less clearly.
    private static func checkTracepoints(of object: BPFObject) throws(ProbeError) {
        let btf = try? KernelBTF()
        for program in object.programs where program.autoload {
            let parts = program.section.split(separator: "/").map(String.init)
            switch parts.first {
            case "tp" where parts.count == 3:
                if !KernelFilesystems.hasTracepoint(parts[1], parts[2]) {
                    throw .missingTracepoint("\(parts[1])/\(parts[2])", program: program.name)
                }
            case "tp_btf" where parts.count == 2:
                if let btf, btf.tracepointArgumentCount(parts[1]) == nil {
                    throw .missingTracepoint(parts[1] + " (BTF-typed)", program: program.name)
                }
            default:
                break
            }
        }
    }

    private static func measureWallClock() -> WallClock {
        // Bracket one realtime read between two monotonic reads; keep the tightest of a few tries.
        var best: (width: Int64, offset: Int64) = (.max, 0)
        for _ in 0..<5 {
            var a = timespec(), r = timespec(), b = timespec()
            clock_gettime(CLOCK_MONOTONIC, &a)
            clock_gettime(CLOCK_REALTIME, &r)
            clock_gettime(CLOCK_MONOTONIC, &b)
            let ns = { (t: timespec) in Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }
            let width = ns(b) - ns(a)
            if width < best.width { best = (width, ns(r) - (ns(a) + width / 2)) }
        }
        return WallClock(offsetNanoseconds: best.offset)
    }
}
