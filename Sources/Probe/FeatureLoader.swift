internal import CPipetraceBPF
import Glibc

/// Loads the probe's objects feature by feature: when the kernel refuses a
/// program (or lacks its hook), the program's feature is turned off and the
/// object is opened and loaded again without it, so one refused feature never
/// takes the others down. A refused core feature stops the probe, with the
/// verifier's reason.
struct FeatureLoader {
    private(set) var states: [ProbeFeature: ProbeFeatureState] = [:]
    private let settings: pt_settings
    private let ringBytes: Int
    private let btf: KernelBTF?
    /// Where the whole verifier log of a refused program is written.
    private let logDirectory: String

    init(configuration c: ProbeConfiguration, cgroupRoot: String?) {
        var s = pt_settings()
        s.self_tgid = UInt32(getpid())
        s.payload_cap = UInt32(c.payloadCap)
        // Woken early only when a quarter of the ring waits: the poll's timer drains it at usual rates,
        // and every wakeup costs a context switch and a pass of the loop.
        s.wakeup_bytes = UInt64(c.ringBufferBytes / 4)
        s.filter_by_pid = !c.pids.isEmpty
        s.filter_by_netns = !c.netns.isEmpty
        s.filter_by_cgroup = !c.cgroups.isEmpty
        s.filter_by_port = !c.ports.isEmpty
        s.sendfile_bytes = c.sendfileBytes
        s.snaplen = UInt32(c.snapLength)
        // The switch tests use; also from the environment, so tests can set it for the pipetrace binary.
        let reject = c.rejectForTesting
            ?? getenv("PIPETRACE_TEST_REJECT_FEATURE").flatMap { ProbeFeature(rawValue: String(cString: $0)) }
        s.test_reject_mmsg = reject == .multiMessage
        settings = s
        ringBytes = c.ringBufferBytes
        btf = try? KernelBTF()
        logDirectory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if !c.capturePackets { states[.packetCapture] = .off(reason: "loaded only by `capture`") }
        if !c.tlsPlaintext {
            for feature in [ProbeFeature.tlsOpenSSL, .tlsGo] {
                states[feature] = .off(reason: "not asked for: TLS connections show their ciphertext")
            }
        }
        if cgroupRoot == nil {
            states[.sendfilePayloads] = .off(reason: "needs cgroup v2 (its program attaches to the cgroup v2 root)")
        } else if !c.sendfileBytes {
            states[.sendfilePayloads] = .off(reason: "not asked for: sendfile events carry their length only")
        }
    }

    private func wanted(_ feature: ProbeFeature) -> Bool {
        states[feature] == nil || states[feature] == .active
    }

    /// Opens and loads object `kind`, retrying without each feature the kernel refuses.
    mutating func load(_ kind: BPFObject.Kind, sharingMapsOf first: BPFObject?) throws -> BPFObject {
        while true {
            let object = try BPFObject(kind, settings: settings)
            var programs: [(program: BPFProgram, feature: ProbeFeature)] = []
            for program in object.programs {
                guard let feature = ProbeFeature.of(program: program.name, in: kind) else {
                    throw ProbeError.invalidConfiguration("BPF program \(program.name) of \(kind.rawValue) serves no known feature")
                }
                programs.append((program, feature))
            }
            // A hook this kernel lacks turns its feature off before the verifier is asked.
            for (program, feature) in programs where wanted(feature) {
                guard let missing = missingHook(of: program) else { continue }
                if feature.isCore { throw ProbeError.missingTracepoint(missing, program: program.name) }
                states[feature] = .degraded(reason: "this kernel has no tracepoint \(missing) (needed by \(program.name))")
            }
            for (program, feature) in programs { program.autoload = wanted(feature) }
            chooseRetransmitVariant(of: object)
            // An object none of whose programs are wanted still loads: its maps may be the ones the others share.
            try prepareMaps(of: object, sharingMapsOf: first)
            if let rejection = try loadReportingRejection(object) {
                guard let feature = ProbeFeature.of(program: rejection.program, in: kind), !feature.isCore else {
                    throw ProbeError.coreFeatureRefused(rejection)
                }
                states[feature] = .degraded(reason: rejection.description)
                continue
            }
            for (program, feature) in programs where program.autoload && states[feature] == nil {
                states[feature] = .active
            }
            return object
        }
    }

    /// Loads `object`; a refused program is returned, any other failure thrown.
    private func loadReportingRejection(_ object: BPFObject) throws(BPFError) -> VerifierRejection? {
        do {
            try object.load(logDirectory: logDirectory)
            return nil
        } catch {
            guard let rejection = error.rejection else { throw error }
            return rejection
        }
    }

    /// Attaches every loaded program; a non-core program the kernel will not attach degrades its feature.
    mutating func attach(_ objects: [BPFObject], cgroup: String?) throws -> [BPFLink] {
        var links: [BPFLink] = []
        for object in objects {
            // Uprobes attach to each library or Go binary as it is found (TLSLibraries).
            for program in object.programs where program.autoload && !program.isUprobe {
                guard let feature = ProbeFeature.of(program: program.name, in: object.kind), wanted(feature) else { continue }
                do {
                    if program.attachesToCgroup {
                        guard let cgroup else { throw BPFError("attach \(program.name): no cgroup given", errno: EINVAL) }
                        links.append(try program.attach(cgroup: cgroup))
                    } else {
                        links.append(try program.attach())
                    }
                } catch {
                    if feature.isCore { throw error }
                    states[feature] = .degraded(reason: "\(error)")
                }
            }
        }
        return links
    }

    private func prepareMaps(of object: BPFObject, sharingMapsOf first: BPFObject?) throws(BPFError) {
        let maps = object.maps
        if let first {
            for (mine, shared) in zip(maps.all, first.maps.all) { try mine.reuse(shared) }
        } else {
            try maps.events.setMaxEntries(UInt32(ringBytes))
        }
        // The per-CPU scratch is an array with a slot per possible CPU (per-CPU maps stop at 32 KiB a value).
        try maps.scratch?.setMaxEntries(UInt32(max(1, BPFMap.possibleCPUs)))
    }

    /// tcp_retransmit_skb gained an `err` argument after 6.12 (Debian's 6.12.118 has two arguments, 6.18 three):
    /// load the variant this kernel has.
    private func chooseRetransmitVariant(of object: BPFObject) {
        guard let withErr = object.program(named: "handle_retransmit"),
              let without = object.program(named: "handle_retransmit_noerr"), withErr.autoload else { return }
        let count = btf?.tracepointArgumentCount("tcp_retransmit_skb") ?? 2
        withErr.autoload = count >= 3
        without.autoload = count < 3
    }

    /// The hook a program names that this kernel lacks, or nil.
    private func missingHook(of program: BPFProgram) -> String? {
        let parts = program.section.split(separator: "/").map(String.init)
        switch parts.first {
        case "tp" where parts.count == 3:
            return KernelFilesystems.hasTracepoint(parts[1], parts[2]) ? nil : "\(parts[1])/\(parts[2])"
        case "tp_btf" where parts.count == 2:
            guard let btf else { return nil }
            return btf.tracepointArgumentCount(parts[1]) == nil ? parts[1] + " (BTF-typed)" : nil
        default:
            return nil
        }
    }
}
