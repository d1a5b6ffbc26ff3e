internal import CLibBPF
import Glibc

/// A BPF ELF object: its programs, maps and `const volatile` settings.
/// Owns the libbpf object; everything taken from it (maps, programs, links)
/// keeps it alive, and closing it unloads what the kernel holds for it.
public final class BPFObject {
    let object: OpaquePointer
    public let name: String
    /// The verifier's log of the last load, which libbpf writes while loading.
    private let verifierLog: UnsafeMutableBufferPointer<CChar>

    /// Opens an object from its ELF bytes. The bytes must outlive the object
    /// until `load()` (embedded objects are static, so they do).
    public init(elf: UnsafeRawBufferPointer, name: String) throws(BPFError) {
        LibBPFLog.install()
        self.name = name
        let log = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 1 << 20)
        log.initialize(repeating: 0)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        // libbpf copies the name; the log buffer is ours until deinit.
        let opened: OpaquePointer? = name.withCString { cName in
            opts.object_name = cName
            return bpf_object__open_mem(elf.baseAddress, elf.count, &opts)
        }
        guard let opened else {
            log.deallocate()
            throw BPFError.from("open BPF object \(name)")
        }
        object = opened
        verifierLog = log
    }

    deinit {
        bpf_object__close(object)
        verifierLog.deallocate()
    }

    public var programs: [BPFProgram] {
        var out: [BPFProgram] = []
        var cursor = bpf_object__next_program(object, nil)
        while let program = cursor {
            out.append(BPFProgram(program: program, owner: self))
            cursor = bpf_object__next_program(object, program)
        }
        return out
    }

    public func program(named name: String) -> BPFProgram? {
        bpf_object__find_program_by_name(object, name).map { BPFProgram(program: $0, owner: self) }
    }

    public func map(named name: String) throws(BPFError) -> BPFMap {
        guard let map = bpf_object__find_map_by_name(object, name) else {
            throw BPFError("find map \(name) in \(self.name)", errno: ENOENT)
        }
        return BPFMap(map: map, owner: self)
    }

    /// Sets a `const volatile` global of the object before it is loaded: the
    /// way settings reach the BPF side, so the verifier sees them as constants.
    public func setConstant<T: BitwiseCopyable>(_ variable: String, to value: T) throws(BPFError) {
        guard let btf = bpf_object__btf(object) else {
            throw BPFError("set \(variable): object \(name) has no BTF", errno: ENOENT)
        }
        let sectionID = btf__find_by_name_kind(btf, ".rodata", PT_BTF_KIND_DATASEC)
        guard sectionID > 0, let section = btf__type_by_id(btf, UInt32(sectionID)),
              let rodata = internalMap(suffix: ".rodata") else {
            throw BPFError("set \(variable): object \(name) has no settings", errno: ENOENT)
        }
        guard let info = btf_var_secinfos(section) else {
            throw BPFError("set \(variable): object \(name) has no settings", errno: ENOENT)
        }
        for i in 0..<Int(btf_vlen(section)) {
            let entry = info[i]
            guard let varType = btf__type_by_id(btf, entry.type),
                  String(cString: btf__name_by_offset(btf, varType.pointee.name_off)) == variable else { continue }
            guard Int(entry.size) == MemoryLayout<T>.size else {
                throw BPFError("set \(variable): it has \(entry.size) bytes, given \(MemoryLayout<T>.size)", errno: EINVAL)
            }
            var size = 0
            guard let current = bpf_map__initial_value(rodata, &size) else {
                throw BPFError.from("read settings of \(name)")
            }
            var bytes = Array(UnsafeRawBufferPointer(start: current, count: size))
            withUnsafeBytes(of: value) { raw in
                bytes.replaceSubrange(Int(entry.offset)..<Int(entry.offset) + raw.count, with: raw)
            }
            let rc = bpf_map__set_initial_value(rodata, bytes, bytes.count)
            if rc != 0 { throw BPFError.from("set \(variable) in \(name)", result: rc) }
            return
        }
        throw BPFError("set \(variable): no such setting in \(name)", errno: ENOENT)
    }

    /// Loads the programs (the verifier runs here) and creates the maps.
    public func load() throws(BPFError) {
        let rc = bpf_object__load(object)
        if rc != 0 {
            var error = BPFError.from("load BPF object \(name)", result: rc)
            let log = String(cString: verifierLog.baseAddress!)
            if !log.isEmpty {
                error.details += "\nverifier log (end):\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n")
            }
            throw error
        }
    }

    /// Attaches every loaded program, cgroup programs to `cgroup`; on failure,
    /// what was attached is detached again (the links are released).
    public func attachAll(cgroup: String?) throws(BPFError) -> [BPFLink] {
        var links: [BPFLink] = []
        for program in programs where program.autoload {
            if program.attachesToCgroup {
                guard let cgroup else { throw BPFError("attach \(program.name): no cgroup given", errno: EINVAL) }
                links.append(try program.attach(cgroup: cgroup))
            } else {
                links.append(try program.attach())
            }
        }
        return links
    }

    private func internalMap(suffix: String) -> OpaquePointer? {
        var cursor = bpf_object__next_map(object, nil)
        while let map = cursor {
            if bpf_map__is_internal(map), String(cString: bpf_map__name(map)).hasSuffix(suffix) { return map }
            cursor = bpf_object__next_map(object, map)
        }
        return nil
    }
}
