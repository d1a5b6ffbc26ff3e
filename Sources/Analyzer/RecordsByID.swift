/// Records by id, for `HopIndex`: the records lie in one array and the
/// dictionary maps an id to its slot. A dictionary of the records
/// themselves moved every record (hundreds of bytes each) whenever it grew
/// and rehashed, which was most of what `stat` cost per record more than
/// `export`; growing this array is one sequential copy and the dictionary
/// of slots is small.
struct RecordsByID: Sendable {
    private var slots: [RequestRecord?] = []
    private var slotOf: [UInt64: Int] = [:]
    /// Slots whose record was removed, to be reused.
    private var free: [Int] = []

    var count: Int { slotOf.count }

    subscript(id: UInt64) -> RequestRecord? {
        slotOf[id].flatMap { slots[$0] }
    }

    /// Whether a record is kept under `id` (without copying it out).
    func contains(_ id: UInt64) -> Bool { slotOf[id] != nil }

    /// The parent of the record kept under `id`.
    func parent(of id: UInt64) -> UInt64? {
        guard let slot = slotOf[id] else { return nil }
        return slots[slot]?.parent
    }

    /// Whether the record kept under `id` can be an end of a broker chain.
    func mayLink(_ id: UInt64) -> Bool {
        guard let slot = slotOf[id], let record = slots[slot] else { return false }
        return BrokerChainMatcher.mayLink(record)
    }

    /// Keeps `record` under its id, replacing the one kept under it before.
    mutating func set(_ record: consuming RequestRecord) {
        if let slot = slotOf[record.id] {
            slots[slot] = record
        } else if let slot = free.popLast() {
            slots[slot] = record
            slotOf[record.id] = slot
        } else {
            slotOf[record.id] = slots.count
            slots.append(record)
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: UInt64) -> RequestRecord? {
        guard let slot = slotOf.removeValue(forKey: id) else { return nil }
        free.append(slot)
        defer { slots[slot] = nil }
        return slots[slot]
    }
}
