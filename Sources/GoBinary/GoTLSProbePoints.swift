/// Where the uprobes go in a Go binary that uses crypto/tls: the first
/// instruction and every `ret` of `crypto/tls.(*Conn).Write` and `.Read`, as
/// offsets into the file. Found from `.gopclntab`, which even a stripped Go
/// binary keeps (the runtime needs it), and by decoding each function's
/// machine code instruction by instruction.
///
/// Only x86-64 binaries built for Go's register ABI (Go 1.17 and later) are
/// accepted: the probes read arguments and results from registers. The check
/// is the binary's own code: a register-ABI function starts by comparing the
/// stack pointer with the goroutine's stack bound through R14, the register
/// that holds the goroutine (`cmp rsp, [r14+16]`), where Go 1.16 and older
/// load the goroutine from thread-local storage first.
public struct GoTLSProbePoints: Sendable, Equatable {
    public struct Function: Sendable, Equatable {
        public var name: String
        /// The address of its first instruction.
        public var address: UInt64
        /// The file offset of its first instruction.
        public var entry: Int
        /// The file offsets of its return instructions.
        public var returns: [Int]
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case notELF
        case unsupportedMachine(UInt16)
        case notGo
        case unknownPclntab(magic: UInt32)
        case badPclntab
        /// A Go binary without crypto/tls.(*Conn).Read and Write (or with neither linked in).
        case noCryptoTLS
        /// The function does not start as Go's register ABI code does (Go 1.16 or older, or not Go's compiler).
        case notRegisterABI(function: String)
        /// An instruction the decoder does not know, at this address: no probe is placed where it is unsure.
        case undecodable(function: String, address: UInt64)
        case noReturn(function: String)
        case outsideFile(function: String)

        public var description: String {
            switch self {
            case .notELF: "not a 64-bit little-endian ELF file"
            case .unsupportedMachine(let m): "ELF machine \(m) is not x86-64"
            case .notGo: "no .gopclntab section: not a Go binary"
            case .unknownPclntab(let magic): "a .gopclntab of an unknown Go version (magic 0x\(String(magic, radix: 16)))"
            case .badPclntab: "a corrupt .gopclntab"
            case .noCryptoTLS: "no crypto/tls.(*Conn).Read and Write"
            case .notRegisterABI(let f): "\(f) is not register-ABI code (Go 1.16 or older?)"
            case .undecodable(let f, let a): "an instruction of \(f) at 0x\(String(a, radix: 16)) could not be decoded"
            case .noReturn(let f): "\(f) has no ret instruction"
            case .outsideFile(let f): "\(f) lies outside the file's sections"
            }
        }
    }

    public static let writeFunction = "crypto/tls.(*Conn).Write"
    public static let readFunction = "crypto/tls.(*Conn).Read"

    /// "go1.19.8", when the binary says.
    public var goVersion: String?
    public var write: Function
    public var read: Function

    public init(file: UnsafeRawBufferPointer) throws(Failure) {
        let sections: ELFSections
        do {
            sections = try ELFSections(file)
        } catch {
            throw .notELF
        }
        guard sections.machine == 62 else { throw .unsupportedMachine(sections.machine) }
        guard let pcln = sections.section(named: ".gopclntab"), pcln.inFile,
              let pclnBytes = BinaryBytes(file).slice(pcln.offset, pcln.size) else { throw .notGo }
        let table: GoFunctionTable
        do {
            table = try GoFunctionTable(pclnBytes)
        } catch .unknownMagic(let magic) {
            throw .unknownPclntab(magic: magic)
        } catch {
            throw .badPclntab
        }
        let names = [GoTLSProbePoints.writeFunction, GoTLSProbePoints.readFunction]
        let ranges = table.functions(named: names)
        guard let writeRange = ranges[names[0]], let readRange = ranges[names[1]] else { throw .noCryptoTLS }
        goVersion = GoBuildVersion.read(file, sections: sections)
        write = try GoTLSProbePoints.locate(names[0], writeRange, in: file, sections: sections)
        read = try GoTLSProbePoints.locate(names[1], readRange, in: file, sections: sections)
    }

    private static func locate(_ name: String, _ range: Range<UInt64>, in file: UnsafeRawBufferPointer,
                               sections: ELFSections) throws(Failure) -> Function {
        guard range.count < 1 << 20, let start = sections.fileOffset(ofAddress: range.lowerBound),
              sections.fileOffset(ofAddress: range.upperBound - 1) == start + range.count - 1,
              let code = BinaryBytes(file).slice(start, range.count) else { throw .outsideFile(function: name) }
        var returns: [Int] = []
        var offset = 0
        var index = 0
        var registerABI = false
        while offset < code.count {
            guard let length = X86Instruction.length(code, at: offset) else {
                throw .undecodable(function: name, address: range.lowerBound + UInt64(offset))
            }
            // The stack bound check, among the first instructions: `cmp rsp|r12, [r14+16]`.
            if index < 4, length == 4, [0x49, 0x4D].contains(code[offset]), code[offset + 1] == 0x3B,
               code[offset + 2] == 0x66, code[offset + 3] == 0x10 {
                registerABI = true
            }
            if X86Instruction.isReturn(code, at: offset) { returns.append(start + offset) }
            offset += length
            index += 1
        }
        guard registerABI else { throw .notRegisterABI(function: name) }
        guard !returns.isEmpty else { throw .noReturn(function: name) }
        return Function(name: name, address: range.lowerBound, entry: start, returns: returns)
    }
}
