internal import CLibBPF
import Glibc

/// A program of a `BPFObject`. Valid while its object lives; it keeps the object alive.
public struct BPFProgram {
    let program: OpaquePointer
    let owner: BPFObject

    public var name: String { String(cString: bpf_program__name(program)) }

    /// The ELF section, which names the hook ("tp/syscalls/sys_enter_read").
    public var section: String { String(cString: bpf_program__section_name(program)) }

    /// Whether `load()` loads (and `attachAll()` attaches) this program.
    public var autoload: Bool {
        get { bpf_program__autoload(program) }
        nonmutating set { bpf_program__set_autoload(program, newValue) }
    }

    /// The instructions the verifier processed to accept it, once loaded
    /// (its share of the 1M limit); nil before load or on kernels before 5.16.
    public var verifiedInstructions: Int? {
        let count = pt_verified_instructions(bpf_program__fd(program))
        return count >= 0 ? Int(count) : nil
    }

    /// Whether the program attaches to a cgroup (its section starts "cgroup").
    public var attachesToCgroup: Bool { section.hasPrefix("cgroup") }

    /// Attaches a cgroup program to the cgroup v2 directory at `path`, next to
    /// any programs already there (a link: detached when released).
    public func attach(cgroup path: String) throws(BPFError) -> BPFLink {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BPFError("open cgroup \(path) for \(name)", errno: errno) }
        defer { close(fd) }
        guard let link = bpf_program__attach_cgroup(program, fd) else {
            throw BPFError.from("attach \(name) to cgroup \(path)")
        }
        return BPFLink(link, programName: name)
    }

    /// A uprobe or uretprobe with no target in its section: attached with `attach(uprobe:)`.
    public var isUprobe: Bool { section == "uprobe" || section == "uretprobe" }

    /// Attaches a uprobe (or, by its section, a uretprobe) to `function` of
    /// the ELF file at `path`, in every process that maps it.
    public func attach(uprobe path: String, function: String) throws(BPFError) -> BPFLink {
        var opts = bpf_uprobe_opts()
        opts.sz = MemoryLayout<bpf_uprobe_opts>.size
        opts.retprobe = section == "uretprobe"
        let link = function.withCString { name -> OpaquePointer? in
            opts.func_name = name
            return bpf_program__attach_uprobe_opts(program, -1, path, 0, &opts)
        }
        guard let link else { throw BPFError.from("attach \(self.name) to \(function) in \(path)") }
        return BPFLink(link, programName: self.name)
    }

    /// Attaches a uprobe at file offset `offset` of the ELF file at `path`
    /// (an instruction found by reading the file, not a symbol), in every process that maps it.
    public func attach(uprobe path: String, offset: Int) throws(BPFError) -> BPFLink {
        var opts = bpf_uprobe_opts()
        opts.sz = MemoryLayout<bpf_uprobe_opts>.size
        opts.retprobe = section == "uretprobe"
        guard let link = bpf_program__attach_uprobe_opts(program, -1, path, offset, &opts) else {
            throw BPFError.from("attach \(self.name) at offset 0x\(String(offset, radix: 16)) of \(path)")
        }
        return BPFLink(link, programName: self.name)
    }

    /// Attaches the program to the hook its section names.
    public func attach() throws(BPFError) -> BPFLink {
        guard let link = bpf_program__attach(program) else {
            throw BPFError.from("attach \(name) (\(section))")
        }
        return BPFLink(link, programName: name)
    }
}
