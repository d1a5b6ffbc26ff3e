internal import CLibBPF

/// The running kernel's BTF (/sys/kernel/btf/vmlinux): which types and
/// typed tracepoints it has, asked before anything is loaded.
public final class KernelBTF {
    private let btf: OpaquePointer

    public init() throws(BPFError) {
        LibBPFLog.install()
        guard let btf = btf__load_vmlinux_btf() else { throw BPFError.from("read kernel BTF") }
        self.btf = btf
    }

    deinit { btf__free(btf) }

    /// Arguments of a BTF-typed tracepoint (`tp_btf/<name>`), or nil if the kernel has no such tracepoint.
    public func tracepointArgumentCount(_ name: String) -> Int? {
        let id = btf__find_by_name_kind(btf, "btf_trace_" + name, PT_BTF_KIND_TYPEDEF)
        guard id > 0, var type = btf__type_by_id(btf, UInt32(id)) else { return nil }
        // typedef -> pointer -> function prototype; its first parameter is the tracepoint's own data.
        for _ in 0..<2 {
            guard let next = btf__type_by_id(btf, type.pointee.type) else { return nil }
            type = next
        }
        guard btf_kind(type) == UInt16(PT_BTF_KIND_FUNC_PROTO) else { return nil }
        return Int(btf_vlen(type)) - 1
    }
}
