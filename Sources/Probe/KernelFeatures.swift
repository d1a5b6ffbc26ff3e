internal import CLibBPF
import Glibc

/// One kernel feature: whether this kernel has it and whether pipetrace needs it.
public struct FeatureCheck: Sendable {
    public enum Use: String, Sendable { case required, optional, unused }
    public var name: String
    public var present: Bool
    public var use: Use
    public var detail: String
}

/// What `pipetrace doctor` reports: the features pipetrace relies on, and the
/// ones its peers rely on that it deliberately does without.
public enum KernelFeatures {
    public static func check() -> [FeatureCheck] {
        var checks: [FeatureCheck] = []
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        checks.append(FeatureCheck(name: "kernel", present: true, use: .required, detail: "Linux \(release)"))
        checks.append(FeatureCheck(name: "root", present: geteuid() == 0, use: .required,
                                   detail: geteuid() == 0 ? "running as root" : "run with sudo"))
        checks.append(FeatureCheck(name: "BTF", present: access("/sys/kernel/btf/vmlinux", R_OK) == 0, use: .required,
                                   detail: "/sys/kernel/btf/vmlinux (CO-RE relocations, typed tracepoints)"))
        let mounted = geteuid() == 0 ? ((try? KernelFilesystems.mountIfNeeded()) ?? []) : []
        let tracefs = KernelFilesystems.isMounted(KernelFilesystems.tracefs, type: "tracefs")
        checks.append(FeatureCheck(name: "tracefs", present: tracefs, use: .required,
                                   detail: KernelFilesystems.tracefs + (mounted.contains { $0.hasPrefix("tracefs") } ? " (mounted now)" : "")))
        let bpffs = KernelFilesystems.isMounted(KernelFilesystems.bpffs, type: "bpf")
        checks.append(FeatureCheck(name: "bpffs", present: bpffs, use: .optional,
                                   detail: KernelFilesystems.bpffs + (mounted.contains { $0.hasPrefix("bpf") } ? " (mounted now)" : "")))
        checks.append(FeatureCheck(name: "ring buffer map", present: libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) == 1,
                                   use: .required, detail: "BPF_MAP_TYPE_RINGBUF (5.8+)"))
        checks.append(FeatureCheck(name: "bpf_loop helper",
                                   present: libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, nil) == 1,
                                   use: .required, detail: "gathers readv/writev/sendmsg buffers (5.17+)"))
        for tracepoint in syscallTracepoints {
            checks.append(FeatureCheck(name: "tracepoint syscalls/\(tracepoint)",
                                       present: KernelFilesystems.hasTracepoint("syscalls", tracepoint), use: .required,
                                       detail: "socket I/O and connections"))
        }
        let btf = try? KernelBTF()
        for (name, why) in typedTracepoints {
            let args = btf?.tracepointArgumentCount(name)
            checks.append(FeatureCheck(name: "tp_btf/\(name)", present: args != nil, use: .required,
                                       detail: why + (args.map { " (\($0) arguments)" } ?? "")))
        }
        let kprobes = access(KernelFilesystems.tracefs + "/kprobe_events", F_OK) == 0
        checks.append(FeatureCheck(name: "kprobes", present: kprobes, use: .unused,
                                   detail: "not needed: pipetrace uses tracepoints only (Kyanos, Beyla and ptcpdump need kprobes)"))
        checks.append(FeatureCheck(name: "fentry/fexit", present: false, use: .unused,
                                   detail: "not needed: pipetrace uses tracepoints only"))
        let cgroup2 = KernelFilesystems.isMounted("/sys/fs/cgroup", type: "cgroup2")
            || KernelFilesystems.isMounted("/sys/fs/cgroup/unified", type: "cgroup2")
        checks.append(FeatureCheck(name: "cgroup v2", present: cgroup2, use: .optional,
                                   detail: "sendfile payloads (cgroup_skb egress), container ids, --container by cgroup"))
        return checks
    }

    /// The syscall tracepoints the probe attaches to.
    public static let syscallTracepoints: [String] = {
        let io = ["read", "readv", "recvfrom", "recvmsg", "recvmmsg", "write", "writev", "sendto", "sendmsg",
                  "sendmmsg", "sendfile64"]
        return io.flatMap { ["sys_enter_\($0)", "sys_exit_\($0)"] }
            + ["sys_enter_connect", "sys_exit_connect", "sys_exit_accept", "sys_exit_accept4", "sys_enter_close"]
    }()

    public static let typedTracepoints: [(String, String)] = [
        ("inet_sock_set_state", "TCP handshakes and teardowns"),
        ("tcp_retransmit_skb", "retransmitted segments"),
        ("tcp_retransmit_synack", "retransmitted SYN-ACKs"),
        ("tcp_send_reset", "resets sent"),
        ("tcp_receive_reset", "resets received"),
    ]
}
