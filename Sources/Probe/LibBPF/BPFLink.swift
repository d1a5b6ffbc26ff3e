internal import CLibBPF

/// An attached program. Detached when this object goes away.
public final class BPFLink {
    private let link: OpaquePointer
    /// The program's name, for messages.
    public let programName: String

    init(_ link: OpaquePointer, programName: String) {
        self.link = link
        self.programName = programName
    }

    deinit {
        bpf_link__destroy(link)
    }
}
