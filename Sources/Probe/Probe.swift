internal import CPipetraceBPF
internal import CPipetraceEvents
import Events
import Glibc

/// The kernel side of pipetrace: loads and attaches the BPF programs
/// (tracepoints only), reads their ring buffer and hands out decoded events,
/// each with the container it came from. Detaches everything when released.
public final class Probe {
    public let configuration: ProbeConfiguration
    public let containers: ContainerResolver
    /// Maps event timestamps to wall-clock time.
    public let wallClock: WallClock
    /// How each feature fared: active, degraded (refused by this kernel) or off.
    public let features: [ProbeFeature: ProbeFeatureState]
    /// The programs loaded, with what the verifier spent on each.
    public let programs: [ProbeProgram]
    private let objects: [BPFObject]
    private var links: [BPFLink]
    private var ring: RingBuffer!
    /// The libssl files and Go programs the TLS uprobes are attached to; nil without the TLS features.
    private let tls: TLSLibraries?
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
        guard BPFObject.embedded else { throw .notBuiltWithBPF }
        self.configuration = configuration
        self.containers = containers
        wallClock = Probe.measureWallClock()
        let cgroupRoot = KernelFilesystems.cgroup2Root()
        self.cgroupRoot = cgroupRoot

        var loader = FeatureLoader(configuration: configuration, cgroupRoot: cgroupRoot)
        do {
            if configuration.capturePackets && cgroupRoot == nil {
                throw ProbeError.invalidConfiguration("packet capture needs cgroup v2 (its programs attach to the cgroup v2 root)")
            }
            var objects: [BPFObject] = []
            for kind in BPFObject.Kind.allCases
            where (kind != .packets || configuration.capturePackets) && (kind != .tls || configuration.tlsPlaintext) {
                objects.append(try loader.load(kind, sharingMapsOf: objects.first))
            }
            self.objects = objects
            try Probe.fillFilters(objects[0].maps, configuration)
            links = try loader.attach(objects, cgroup: cgroupRoot)
            let openSSL = loader.states[.tlsOpenSSL] == .active, go = loader.states[.tlsGo] == .active
            if openSSL || go, let object = objects.first(where: { $0.kind == .tls }) {
                tls = TLSLibraries(object: object, openSSL: openSSL, go: go)
            } else {
                tls = nil
            }
        } catch let error as ProbeError {
            throw error
        } catch let error as BPFError {
            throw .bpf(error)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        features = loader.states
        programs = objects.flatMap { object in
            object.programs.filter(\.autoload).map { program in
                ProbeProgram(name: program.name, section: program.section, object: object.name,
                             feature: ProbeFeature.of(program: program.name, in: object.kind) ?? .socketIO,
                             verifiedInstructions: program.verifiedInstructions)
            }
        }
        tls?.scanAll(now: Probe.monotonicNow())
        receiver = .allocate(capacity: 1)
        receiver.initialize(to: EventReceiver(containers: containers, payloadCap: configuration.payloadCap,
                                          sendfileBytes: configuration.sendfileBytes))
        do {
            // The ring is the probe's and calls back only inside its poll and drain, while the receiver lives.
            ring = try RingBuffer(map: objects[0].maps.events) { [receiver] bytes in
                receiver.pointee.receive(bytes)
            }
        } catch {
            throw .bpf(error)
        }
    }

    /// The libssl files and Go programs whose plaintext the probe reads, each with some of the processes found using it.
    public var tlsLibraries: [TLSLibrary] { tls?.libraries ?? [] }

    /// libssl files and Go programs the uprobes could not attach to, with why.
    public var tlsFailures: [String] { tls?.failures ?? [] }

    /// CLOCK_MONOTONIC in ns: the clock of the kernel's event timestamps.
    public static func monotonicNow() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// One line per feature the kernel refused: what every tracing verb prints when it starts.
    public var warnings: [String] {
        degradedFeatures.map { feature, reason in
            let why = reason.split(separator: "\n").first.map(String.init) ?? reason
            return "pipetrace: warning: running without \(feature.rawValue) (\(feature.summary)): \(why); `sudo pipetrace doctor` says more\n"
        }
    }

    /// The features the kernel refused, with why.
    public var degradedFeatures: [(feature: ProbeFeature, reason: String)] {
        ProbeFeature.allCases.compactMap { feature in
            if case .degraded(let reason) = features[feature] { return (feature, reason) }
            return nil
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
        if let tls {
            let now = Probe.monotonicNow()
            tls.work(now: now)
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
        let stats = objects[0].maps.stats
        s.lostEvents = stats.perCPUSum(key: PT_STAT_RINGBUF_FULL.rawValue)
        s.connectionTableFull = stats.perCPUSum(key: PT_STAT_CONN_TABLE_FULL.rawValue)
        s.malformedEvents = receiver.pointee.malformed
        s.events = receiver.pointee.delivered
        return s
    }

    /// Root, BTF and the pseudo-filesystems, checked before anything is loaded.
    public static func checkPrerequisites() throws(ProbeError) {
        guard geteuid() == 0 else { throw .notRoot }
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else { throw .noBTF(path: "/sys/kernel/btf/vmlinux") }
        try KernelFilesystems.mountIfNeeded()
    }

    private static func fillFilters(_ maps: BPFObject.SharedMaps, _ c: ProbeConfiguration) throws(BPFError) {
        let one: UInt8 = 1
        for pid in c.pids { try maps.filterPIDs.update(key: pid, value: one) }
        for ns in c.netns { try maps.filterNetns.update(key: ns, value: one) }
        for cg in c.cgroups { try maps.filterCgroups.update(key: cg, value: one) }
        for port in c.ports { try maps.filterPorts.update(key: port, value: one) }
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
