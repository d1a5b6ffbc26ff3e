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

    /// What a dictionary asks for: the stored hash mixed with its seed, not
    /// the stored hash run through SipHash again (~150 instructions per
    /// lookup, several lookups per record). The stored hash is itself a
    /// seeded SipHash of the value, so traffic still cannot choose collisions.
    func _rawHashValue(seed: Int) -> Int {
        hash ^ seed
    }
}
