/// The analyzer's open connections. Each lives in a slot, reused after it
/// closes, that its key finds: handling an event hashes the key once, then
/// takes the connection's entry out of its slot, changes the state in place
/// and puts the entry back, without hashing again.
struct ConnectionTable: Sendable {
    /// Where a connection lives, valid until it is removed.
    typealias Slot = Int

    /// A connection's state on the heap: taking it out of its slot and back
    /// moves one reference, not the state's ~360 bytes twice per event.
    ///
    /// A value in all but storage: `take` and `update` copy an entry another
    /// copy of the table still holds before it is changed, so entries are
    /// only changed while one table owns them.
    final class Entry: @unchecked Sendable {
        var state: ConnectionState

        init(_ state: ConnectionState) {
            self.state = state
        }
    }

    private var slots: [Entry?] = []
    private var slotsByKey: [ConnectionKey: Slot] = [:]
    private var freeSlots: [Slot] = []

    /// Connections held, including any taken out of their slot.
    var count: Int { slotsByKey.count }

    /// Every connection in its slot, in no particular order.
    var all: [ConnectionState] { slots.compactMap { $0?.state } }

    func slot(_ key: ConnectionKey) -> Slot? { slotsByKey[key] }

    /// Changes the connection in `slot` where it lies, if it is there.
    mutating func update(_ slot: Slot, _ change: (inout ConnectionState) -> Void) {
        guard let entry = take(slot) else { return }
        change(&entry.state)
        slots[slot] = entry
    }

    /// The connection named `key`, if held and not taken out.
    subscript(key: ConnectionKey) -> ConnectionState? {
        slotsByKey[key].flatMap { slots[$0]?.state }
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

    /// Moves the connection's entry out of its slot, for the caller to change
    /// `state` in place and `put` back. The entry is the caller's alone.
    mutating func take(_ slot: Slot) -> Entry? {
        guard var entry = slots[slot].take() else { return nil }
        if !isKnownUniquelyReferenced(&entry) { entry = Entry(entry.state) }
        return entry
    }

    mutating func put(_ entry: Entry, in slot: Slot) {
        slots[slot] = entry
    }

    /// Drops `key` and frees its slot; returns the connection if it was in it.
    mutating func remove(_ key: ConnectionKey) -> ConnectionState? {
        guard let slot = slotsByKey.removeValue(forKey: key) else { return nil }
        freeSlots.append(slot)
        return slots[slot].take()?.state
    }
}
