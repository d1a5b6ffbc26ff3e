import Events

/// The analyzer's open connections, in Events' `SlotTable`. Each lives in a slot, reused after it
/// closes, that its key finds: handling an event finds the slot once (most
/// often by its probe id, without hashing the key), then takes the
/// connection's entry out of its slot, changes the state in place and puts
/// the entry back.
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
        /// Unchecked: the table hands an entry to one caller at a time (`take`,
        /// then `put`), so accesses cannot overlap; the runtime check cost
        /// a tenth of a microsecond per event.
        @exclusivity(unchecked) var state: ConnectionState

        init(_ state: ConnectionState) {
            self.state = state
        }
    }

    private var table = SlotTable<ConnectionKey, Entry, UInt64>(recentPlaces: 1 << recentIDBits)

    /// Slots of probe ids seen lately are found by a multiplicative hash of
    /// the id: one multiply and one load per event instead of hashing the key
    /// for the dictionary (a tenth of the analyzer's time). The ids count up
    /// in the kernel, so the traffic cannot choose them to collide; a
    /// collision only sends a lookup to the dictionary.
    private static let recentIDBits = 10

    private static func recentIndex(_ id: UInt64) -> Int {
        Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) >> (64 - UInt64(recentIDBits)))
    }

    /// Connections held, including any taken out of their slot.
    var count: Int { table.count }

    /// Every connection in its slot, in no particular order.
    var all: [ConnectionState] { table.values.map(\.state) }

    func slot(_ key: ConnectionKey) -> Slot? { table.slot(key) }

    /// The slot of the connection with the probe's id `id` (not 0), remembered for the next event.
    mutating func slot(id: UInt64) -> Slot? {
        guard id != 0 else { return nil }
        return table.slot(.id(id), tag: id, hint: ConnectionTable.recentIndex(id))
    }

    /// The keys of the `count` connections seen longest ago (oldest first); no connection's state is copied.
    func leastRecentlySeen(_ count: Int) -> [ConnectionKey] {
        var ages: [(lastSeen: UInt64, sequence: UInt64, key: ConnectionKey)] = []
        ages.reserveCapacity(table.count)
        for entry in table.values { ages.append((entry.state.lastSeen, entry.state.sequence, entry.state.key)) }
        ages.sort { ($0.lastSeen, $0.sequence) < ($1.lastSeen, $1.sequence) }
        return ages.prefix(count).map(\.key)
    }

    /// Changes the connection in `slot` where it lies, if it is there.
    mutating func update(_ slot: Slot, _ change: (inout ConnectionState) -> Void) {
        guard let entry = take(slot) else { return }
        change(&entry.state)
        table.put(entry, in: slot)
    }

    /// The connection named `key`, if held and not taken out.
    subscript(key: ConnectionKey) -> ConnectionState? { table[key]?.state }

    /// A slot for a new key, empty until `put`; a key already held keeps its slot,
    /// and `put` replaces what was there.
    mutating func reserve(_ key: ConnectionKey) -> Slot { table.reserve(key) }

    /// Moves the connection's entry out of its slot, for the caller to change
    /// `state` in place and `put` back. The entry is the caller's alone.
    mutating func take(_ slot: Slot) -> Entry? {
        guard var entry = table.take(slot) else { return nil }
        if !isKnownUniquelyReferenced(&entry) { entry = Entry(entry.state) }
        return entry
    }

    mutating func put(_ entry: Entry, in slot: Slot) { table.put(entry, in: slot) }

    /// Drops `key` and frees its slot; returns the connection if it was in it.
    mutating func remove(_ key: ConnectionKey) -> ConnectionState? {
        guard case .id(let id) = key else { return table.remove(key)?.state }
        return table.remove(key, tag: (id, ConnectionTable.recentIndex(id)))?.state
    }
}
