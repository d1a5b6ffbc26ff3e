internal import Glibc

extension Slice where Base == UnsafeBufferPointer<UInt8> {
    /// The index of the first `byte`, found with memchr: HTTP heads are
    /// searched for line ends once per message, and a loop over single
    /// bytes was the parser's largest cost.
    func firstIndex(ofByte byte: UInt8) -> Int? {
        guard !isEmpty, let start = base.baseAddress else { return nil }
        guard let found = memchr(start + startIndex, Int32(byte), count) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(start)
    }
}
