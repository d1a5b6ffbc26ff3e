import ArgumentParser
import Glibc
import Probe

/// The filters every tracing verb takes; applied in the kernel.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("pid"), help: ArgumentHelp("Trace only this process id (repeatable).", valueName: "pid"))
    var pids: [UInt32] = []

    @Option(name: .customLong("container"),
            help: ArgumentHelp("Trace only this container: its name or id (prefix), an `ip netns` name, or `host` (repeatable).",
                               valueName: "name"))
    var containers: [String] = []

    @Option(name: .customLong("port"), help: ArgumentHelp("Trace only connections with this port at either end (repeatable).",
                                                           valueName: "port"))
    var ports: [UInt16] = []

    @Option(name: .customLong("payload-cap"),
            help: ArgumentHelp("Payload bytes captured per read or write (the true length is always reported; at most 16384).",
                               valueName: "bytes"))
    var payloadCap: Int = 4096

    @Option(name: .customLong("buffer-size"),
            help: ArgumentHelp("Ring buffer between kernel and pipetrace, in MiB (a power of two; default 32, 8 for export). Raise it when events are reported lost.",
                               valueName: "MiB"))
    var bufferMiB: Int?

    @Flag(name: .customLong("no-tls-plaintext"),
          help: ArgumentHelp("Leave the TLS probes out: no uprobes on libssl or Go programs, so their calls do not trap into the kernel; TLS connections show as flows of ciphertext (bytes and times, no requests)."))
    var noTLSPlaintext = false

    /// The probe these options describe, loaded and attached. Its errors
    /// (not root, no BTF, a missing tracepoint) say what to do.
    /// `defaultBufferMiB`: the ring buffer without --buffer-size.
    func makeProbe(defaultBufferMiB: Int = 32, sendfileBytes: Bool = true) throws -> Probe {
        let resolver = FilterOptions.containerResolver()
        var configuration = try probeConfiguration(resolver: resolver, defaultBufferMiB: defaultBufferMiB)
        configuration.sendfileBytes = sendfileBytes
        let probe = try Probe(configuration: configuration, containers: resolver)
        probe.warnings.forEach(StandardError.write)
        return probe
    }

    /// Names containers; their runtimes' state is read below $PIPETRACE_HOST_ROOT
    /// (the host's / where pipetrace runs in a container with it mounted), else /.
    static func containerResolver() -> ContainerResolver {
        ContainerResolver(stateRoot: getenv("PIPETRACE_HOST_ROOT").map { String(cString: $0) } ?? "/")
    }

    /// The probe configuration these options describe.
    func probeConfiguration(resolver: ContainerResolver, defaultBufferMiB: Int = 32) throws -> ProbeConfiguration {
        var c = ProbeConfiguration()
        c.pids = Set(pids)
        c.ports = Set(ports)
        c.payloadCap = payloadCap
        c.tlsPlaintext = !noTLSPlaintext
        let bufferMiB = self.bufferMiB ?? defaultBufferMiB
        guard bufferMiB > 0, bufferMiB <= 1024, bufferMiB & (bufferMiB - 1) == 0 else {
            throw FailureMessage(text: "--buffer-size must be a power of two between 1 and 1024 (MiB)")
        }
        c.ringBufferBytes = bufferMiB << 20
        for name in containers {
            if name == "host" {
                c.netns.insert(resolver.hostNetns)
            } else if let ns = resolver.netns(named: name) {
                c.netns.insert(ns)
            } else {
                let cgroups = resolver.cgroups(ofContainer: name)
                guard !cgroups.isEmpty else {
                    throw FailureMessage(text: "no container named '\(name)': not an `ip netns` name, nor the name or id of a container in cgroup v2")
                }
                c.cgroups.formUnion(cgroups)
            }
        }
        guard c.netns.isEmpty || c.cgroups.isEmpty else {
            throw FailureMessage(text: "--container takes either network namespace names or container ids, not both")
        }
        return c
    }
}
