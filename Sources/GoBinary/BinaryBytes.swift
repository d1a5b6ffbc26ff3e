/// Bounds-checked little-endian reads from a file's bytes: every read outside
/// the bytes is nil, never a trap, so a truncated or corrupt binary is only
/// "not understood".
struct BinaryBytes {
    let base: UnsafeRawBufferPointer

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var count: Int { base.count }

    /// `size` bytes at `offset`, or nil where they would run out of the bytes.
    func slice(_ offset: Int, _ size: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, size >= 0, offset <= count, size <= count - offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + size])
    }

    func u8(_ offset: Int) -> UInt8? { slice(offset, 1)?[0] }

    func u16(_ offset: Int) -> UInt16? { slice(offset, 2).map { UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self)) } }

    func u32(_ offset: Int) -> UInt32? { slice(offset, 4).map { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }

    func u64(_ offset: Int) -> UInt64? { slice(offset, 8).map { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } }

    /// A word of `size` bytes (4 or 8), as an Int, or nil if it does not fit one.
    func word(_ offset: Int, size: Int) -> Int? {
        let value: UInt64? = size == 4 ? u32(offset).map(UInt64.init) : u64(offset)
        return value.flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil }
    }

    /// The NUL-terminated string at `offset`, at most `limit` bytes long, or nil.
    func cString(_ offset: Int, limit: Int = 4096) -> String? {
        guard offset >= 0, offset < count else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: base[offset..<min(count, offset + limit)])
        guard let end = rest.firstIndex(of: 0) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<end]), as: UTF8.self)
    }

    /// Whether the NUL-terminated string at `offset` is `name` (without building a String).
    func hasCString(_ offset: Int, equalTo name: [UInt8]) -> Bool {
        guard let bytes = slice(offset, name.count + 1), bytes[name.count] == 0 else { return false }
        return bytes.prefix(name.count).elementsEqual(name)
    }
}

/// Adds without trapping: nil on overflow.
func checkedAdd(_ a: Int, _ b: Int) -> Int? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : sum
}
