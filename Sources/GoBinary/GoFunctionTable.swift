/// The function table of a Go binary's `.gopclntab` (runtime.pclntab): every
/// function's name and address range, read without a symbol table, as the Go
/// runtime itself reads it for stack traces. Layouts of Go 1.16 to today:
///
///     header: magic u32, 0, 0, minLC u8, ptrSize u8, then ptrSize words:
///       nfunc, nfiles, [textStart (1.18+)], funcnameOffset, cuOffset,
///       filetabOffset, pctabOffset, pclnOffset
///     at pclnOffset, nfunc+1 entries (the last one only an end address):
///       1.16-1.17: (entry address, offset of _func) as ptrSize words
///       1.18+:     (entry - textStart, offset of _func) as u32
///     _func: entry (word in 1.16-1.17, u32 in 1.18+), then nameOff i32 into funcnametab
struct GoFunctionTable {
    enum Layout: Sendable, Equatable {
        /// Magic 0xfffffffa: Go 1.16 and 1.17.
        case go116
        /// Magic 0xfffffff0: Go 1.18 and 1.19.
        case go118
        /// Magic 0xfffffff1: Go 1.20 and later.
        case go120
    }

    enum Failure: Error, Equatable, Sendable {
        case unknownMagic(UInt32)
        case badHeader
    }

    let layout: Layout
    let count: Int
    private let bytes: BinaryBytes
    private let pointerSize: Int
    private let textStart: UInt64
    private let names: Int
    private let table: Int

    init(_ pclntab: UnsafeRawBufferPointer) throws(Failure) {
        let b = BinaryBytes(pclntab)
        guard let magic = b.u32(0) else { throw .badHeader }
        switch magic {
        case 0xFFFF_FFFA: layout = .go116
        case 0xFFFF_FFF0: layout = .go118
        case 0xFFFF_FFF1: layout = .go120
        default: throw .unknownMagic(magic)
        }
        guard b.u16(4) == 0, let quantum = b.u8(6), [1, 2, 4].contains(quantum),
              let size = b.u8(7).map(Int.init), size == 4 || size == 8 else { throw .badHeader }
        pointerSize = size
        let words = layout == .go116 ? 7 : 8
        var header: [Int] = []
        for i in 0..<words {
            guard let w = b.word(8 + i * size, size: size) else { throw .badHeader }
            header.append(w)
        }
        count = header[0]
        textStart = layout == .go116 ? 0 : UInt64(header[2])
        names = header[layout == .go116 ? 2 : 3]
        table = header[layout == .go116 ? 6 : 7]
        bytes = b
        // The whole entry table must be there (count+1 entries), so that entry(i) below needs no further checks to make sense.
        let entrySize = layout == .go116 ? 2 * size : 8
        guard count > 0, count < b.count, names < b.count, let tableEnd = checkedAdd(table, (count + 1) * entrySize),
              tableEnd <= b.count else { throw .badHeader }
    }

    /// The address of function `i`'s first instruction; `i == count` gives the end of the last function.
    func entry(_ i: Int) -> UInt64? {
        guard i >= 0, i <= count else { return nil }
        switch layout {
        case .go116:
            return bytes.word(table + i * 2 * pointerSize, size: pointerSize).map(UInt64.init)
        case .go118, .go120:
            return bytes.u32(table + i * 8).map { textStart &+ UInt64($0) }
        }
    }

    /// Where function `i`'s name starts in the table's bytes.
    private func nameOffset(_ i: Int) -> Int? {
        guard i >= 0, i < count else { return nil }
        let funcOffset: Int?
        let nameField: Int
        switch layout {
        case .go116:
            funcOffset = bytes.word(table + (i * 2 + 1) * pointerSize, size: pointerSize)
            nameField = pointerSize
        case .go118, .go120:
            funcOffset = bytes.u32(table + i * 8 + 4).map(Int.init)
            nameField = 4
        }
        guard let funcOffset, let at = checkedAdd(table, funcOffset), let field = checkedAdd(at, nameField),
              let nameOff = bytes.u32(field).map({ Int(Int32(bitPattern: $0)) }), nameOff >= 0 else { return nil }
        return checkedAdd(names, nameOff)
    }

    func name(_ i: Int) -> String? {
        nameOffset(i).flatMap { bytes.cString($0) }
    }

    /// The address ranges of the functions named, by name; a name not in the table is absent.
    func functions(named wanted: [String]) -> [String: Range<UInt64>] {
        let encoded = wanted.map { Array($0.utf8) }
        var found: [String: Range<UInt64>] = [:]
        for i in 0..<count {
            guard let at = nameOffset(i) else { continue }
            for (name, bytes) in zip(wanted, encoded) where self.bytes.hasCString(at, equalTo: bytes) {
                if let start = entry(i), let end = entry(i + 1), start < end { found[name] = start..<end }
            }
            if found.count == wanted.count { break }
        }
        return found
    }
}
