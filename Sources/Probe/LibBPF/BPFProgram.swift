import CLibBPF

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

    /// Attaches the program to the hook its section names.
    public func attach() throws(BPFError) -> BPFLink {
        guard let link = bpf_program__attach(program) else {
            throw BPFError.from("attach \(name) (\(section))")
        }
        return BPFLink(link, programName: name)
    }
}
