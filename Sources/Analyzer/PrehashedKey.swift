/// A dictionary key hashed once, when it is made. A connection's tuples and
/// endpoint pair are looked up per record (is the other end open, which
/// views wait for it); hashing their addresses and ports each time was a
/// visible share of the analyzer's time. Equal keys compare their values,
/// so a collision of the stored hashes costs a comparison, never a wrong match.
struct PrehashedKey<Value: Hashable & Sendable>: Hashable, Sendable {
    let value: Value
    private let hash: Int

    init(_ value: Value) {
        self.value = value
        hash = value.hashValue
    }

    static func == (a: PrehashedKey, b: PrehashedKey) -> Bool {
        a.hash == b.hash && a.value == b.value
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What a dictionary asks for (the standard library's hook for types
    /// that hash cheaply): the stored hash mixed with the dictionary's seed,
    /// not run through SipHash again (~150 instructions per lookup, several
    /// lookups per record). The stored hash is itself a seeded SipHash of
    /// the value, so traffic still cannot choose collisions; the multiply and
    /// shifts (murmur3's finalizer) make each dictionary's seed scatter the
    /// keys anew, as SipHash would, rather than flip the same bits for all.
    func _rawHashValue(seed: Int) -> Int {
        var x = UInt64(bitPattern: Int64(hash ^ seed))
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        return Int(bitPattern: UInt(x))
    }
}
