/// The section headers of a 64-bit little-endian ELF file: enough to find a
/// Go binary's `.gopclntab`, `.text` and `.go.buildinfo` by name, and to turn
/// a virtual address into a file offset. No program headers, no symbols.
public struct ELFSections: Sendable {
    public struct Section: Sendable, Equatable {
        public var name: String
        public var address: UInt64
        public var offset: Int
        public var size: Int
        /// The section has bytes in the file (not SHT_NOBITS, as .bss).
        public var inFile: Bool
    }

    /// e_machine: EM_X86_64 (62), EM_AARCH64 (183), ...
    public let machine: UInt16
    public let sections: [Section]

    public enum Failure: Error, Equatable, Sendable {
        case notELF
        /// 32-bit or big-endian: no Go release with the register ABI makes these for the architectures covered.
        case notELF64LittleEndian
        case badSectionHeaders
    }

    public init(_ file: UnsafeRawBufferPointer) throws(Failure) {
        let b = BinaryBytes(file)
        guard b.u32(0) == 0x464C_457F else { throw .notELF } // "\x7fELF"
        guard b.u8(4) == 2, b.u8(5) == 1 else { throw .notELF64LittleEndian }
        guard let machine = b.u16(0x12), let shoff = b.word(0x28, size: 8), let entsize = b.u16(0x3A),
              let count = b.u16(0x3C), let namesIndex = b.u16(0x3E) else { throw .badSectionHeaders }
        self.machine = machine
        guard count > 0, entsize >= 64, Int(namesIndex) < Int(count),
              b.slice(shoff, Int(count) * Int(entsize)) != nil else { throw .badSectionHeaders }
        struct Raw { var name: Int; var type: UInt32; var address: UInt64; var offset: Int; var size: Int }
        var raw: [Raw] = []
        for i in 0..<Int(count) {
            let at = shoff + i * Int(entsize)
            guard let name = b.u32(at), let type = b.u32(at + 4), let address = b.u64(at + 16),
                  let offset = b.word(at + 24, size: 8), let size = b.word(at + 32, size: 8) else { throw .badSectionHeaders }
            raw.append(Raw(name: Int(name), type: type, address: address, offset: offset, size: size))
        }
        let names = raw[Int(namesIndex)]
        guard let table = b.slice(names.offset, names.size) else { throw .badSectionHeaders }
        let strings = BinaryBytes(table)
        sections = raw.map { s in
            Section(name: strings.cString(s.name) ?? "", address: s.address, offset: s.offset, size: s.size,
                    inFile: s.type != 8 && b.slice(s.offset, s.size) != nil)
        }
    }

    public func section(named name: String) -> Section? {
        sections.first { $0.name == name }
    }

    /// The file offset of virtual address `address`, if a section in the file holds it.
    public func fileOffset(ofAddress address: UInt64) -> Int? {
        for s in sections where s.inFile && s.address != 0 && address >= s.address && address - s.address < UInt64(s.size) {
            return s.offset + Int(address - s.address)
        }
        return nil
    }
}
