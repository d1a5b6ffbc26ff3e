/// The analyzer's open connections. Each lives in a slot, reused after it
/// closes, that its key finds: handling an event hashes the key once, then
/// moves the state out of its slot and back without hashing again.
struct ConnectionTable: Sendable {
    /// Where a connection lives, valid until it is removed.
    typealias Slot = Int

    private var slots: [ConnectionState?] = []
    private var slotsByKey: [ConnectionKey: Slot] = [:]
    private var freeSlots: [Slot] = []

    /// Connections held, including any taken out of their slot.
    var count: Int { slotsByKey.count }

    /// Every connection in its slot, in no particular order.
    var all: [ConnectionState] { slots.compactMap { $0 } }

    func slot(_ key: ConnectionKey) -> Slot? { slotsByKey[key] }

    /// The connection in `slot`; nil while it is taken out.
    subscript(slot: Slot) -> ConnectionState? { slots[slot] }

    /// Changes the connection in `slot` where it lies, if it is there.
    mutating func update(_ slot: Slot, _ change: (inout ConnectionState) -> Void) {
        guard slots[slot] != nil else { return }
        change(&slots[slot]!)
    }

    /// The connection named `key`, if held and not taken out.
    subscript(key: ConnectionKey) -> ConnectionState? {
        slotsByKey[key].flatMap { slots[$0] }
    }

    /// A slot for a new key, empty until `put`; a key already held keeps its slot,
    /// and `put` replaces what was there.
    mutating func reserve(_ key: ConnectionKey) -> Slot {
        if let existing = slotsByKey[key] { return existing }
        let slot: Slot
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = slots.count
            slots.append(nil)
        }
        slotsByKey[key] = slot
        return slot
    }

    /// Moves the connection out of its slot, for the caller to change and `put` back.
    mutating func take(_ slot: Slot) -> ConnectionState? {
        slots[slot].take()
    }

    mutating func put(_ connection: consuming ConnectionState, in slot: Slot) {
        slots[slot] = connection
    }

    /// Drops `key` and frees its slot; returns the connection if it was in it.
    mutating func remove(_ key: ConnectionKey) -> ConnectionState? {
        guard let slot = slotsByKey.removeValue(forKey: key) else { return nil }
        freeSlots.append(slot)
        return slots[slot].take()
    }
}
