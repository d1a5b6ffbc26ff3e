/// Why the probe cannot run, in words a user can act on.
public enum ProbeError: Error, CustomStringConvertible, Sendable {
    case notRoot
    case noBTF(path: String)
    case missingTracepoint(String, program: String)
    case notBuiltWithBPF
    case mountFailed(what: String, path: String, errno: Int32)
    case invalidConfiguration(String)
    case bpf(BPFError)
    /// The kernel refused a program of a core feature (socket I/O, connections, packet capture for `capture`).
    case coreFeatureRefused(VerifierRejection)

    public var description: String {
        switch self {
        case .notRoot:
            "pipetrace needs root to load BPF programs (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN): run it with sudo"
        case .noBTF(let path):
            "this kernel has no BTF (\(path) is missing): pipetrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
        case .missingTracepoint(let name, let program):
            "this kernel has no tracepoint \(name) (needed by \(program)); `pipetrace doctor` lists what is there"
        case .notBuiltWithBPF:
            "this pipetrace binary was built without its BPF programs: build it with `make` (which runs bpf/Makefile first)"
        case .mountFailed(let what, let path, let errno):
            "could not mount \(what) on \(path) (errno \(errno))"
        case .invalidConfiguration(let text):
            text
        case .bpf(let error):
            error.description
        case .coreFeatureRefused(let rejection):
            "the probe cannot run on this kernel: " + rejection.description
        }
    }
}
