internal import Glibc

extension Slice where Base == UnsafeBufferPointer<UInt8> {
    /// The index of the first `byte`, found with memchr: HTTP heads are
    /// searched for line ends once per message, and a loop over single
    /// bytes was the parser's largest cost.
    public func firstIndex(ofByte byte: UInt8) -> Int? {
        guard !isEmpty, let start = base.baseAddress else { return nil }
        guard let found = memchr(start + startIndex, Int32(byte), count) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(start)
    }

    /// Whether the bytes begin with `literal`, compared with memcmp (every
    /// start line is checked for its version; a generic element-by-element
    /// comparison cost more than the check).
    public func starts(withBytes literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard count >= n else { return false }
        guard n > 0, let start = base.baseAddress else { return true }
        return memcmp(start + startIndex, literal.utf8Start, n) == 0
    }
}

extension ArraySlice where Element == UInt8 {
    /// Whether the bytes begin with all of `prefix` (false for an empty
    /// `prefix`), compared with memcmp: a repeated HTTP head is recognized
    /// by its bytes instead of being parsed again.
    public func starts(withBytesOf prefix: [UInt8]) -> Bool {
        guard !prefix.isEmpty, count >= prefix.count else { return false }
        return withUnsafeBufferPointer { bytes in
            prefix.withUnsafeBufferPointer { prefix in
                memcmp(bytes.baseAddress!, prefix.baseAddress!, prefix.count) == 0
            }
        }
    }
}
