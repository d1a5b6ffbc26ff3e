/// Values that live in slots, reused after removal, that their key finds:
/// the one table of the analyzer's connections and the reassembler's flows.
/// A caller finds a slot once per event, takes the value out, changes it in
/// place and puts it back, so a value is moved, never copied.
///
/// Finding a key hashes it (the dictionary's keyed hash) unless it was found
/// lately: `recent` remembers slots under a cheap tag of the caller's (the
/// probe's connection id, or the whole key) at a place the caller's hint
/// picks, one load instead of a hash per event. Each place holds its tag,
/// so tags that meet at one place cost a dictionary lookup, never a wrong
/// slot; a removed key's place is cleared.
public struct SlotTable<Key: Hashable & Sendable, Value: Sendable, Tag: Equatable & Sendable>: Sendable {
    public typealias Slot = Int

    @usableFromInline var slots: [Value?] = []
    @usableFromInline var slotsByKey: [Key: Slot] = [:]
    @usableFromInline var freeSlots: [Slot] = []
    @usableFromInline var recent: [(tag: Tag, slot: Slot)?]
    /// `recent.count - 1`: a hint's low bits pick its place.
    @usableFromInline let recentMask: Int

    /// `recentPlaces`: how many places `recent` has, a power of two (hints are taken modulo it).
    public init(recentPlaces: Int) {
        precondition(recentPlaces > 0 && recentPlaces & (recentPlaces - 1) == 0, "recentPlaces must be a power of two")
        recent = Array(repeating: nil, count: recentPlaces)
        recentMask = recentPlaces - 1
    }

    /// Keys held, including those whose value is taken out.
    @inlinable public var count: Int { slotsByKey.count }

    /// Every value in its slot, in slot order.
    @inlinable public var values: [Value] { slots.compactMap { $0 } }

    /// The slot of `key`, without looking in (or changing) `recent`.
    @inlinable public func slot(_ key: Key) -> Slot? { slotsByKey[key] }

    /// The slot of `key`, looked for first at `hint` under `tag`, and remembered there.
    @inlinable public mutating func slot(_ key: Key, tag: Tag, hint: Int) -> Slot? {
        let place = hint & recentMask
        if let cached = recent[place], cached.tag == tag { return cached.slot }
        guard let slot = slotsByKey[key] else { return nil }
        recent[place] = (tag, slot)
        return slot
    }

    /// The value of `key`, if held and not taken out.
    @inlinable public subscript(key: Key) -> Value? {
        slotsByKey[key].flatMap { slots[$0] }
    }

    /// A slot for `key`, empty until `put` (a key already held keeps its slot);
    /// with `tag`, remembered at `hint`.
    @inlinable public mutating func reserve(_ key: Key, tag: (Tag, hint: Int)? = nil) -> Slot {
        let slot: Slot
        if let existing = slotsByKey[key] {
            slot = existing
        } else {
            if let free = freeSlots.popLast() {
                slot = free
            } else {
                slot = slots.count
                slots.append(nil)
            }
            slotsByKey[key] = slot
        }
        if let (tag, hint) = tag { recent[hint & recentMask] = (tag, slot) }
        return slot
    }

    /// Moves the value out of `slot`, for the caller to change and `put` back.
    @inlinable public mutating func take(_ slot: Slot) -> Value? { slots[slot].take() }

    @inlinable public mutating func put(_ value: consuming Value, in slot: Slot) { slots[slot] = value }

    /// Drops `key` and frees its slot (and its place in `recent`, where `tag` is at `hint`); returns what the slot held.
    @inlinable @discardableResult
    public mutating func remove(_ key: Key, tag: (Tag, hint: Int)? = nil) -> Value? {
        guard let slot = slotsByKey.removeValue(forKey: key) else { return nil }
        if let (tag, hint) = tag, let cached = recent[hint & recentMask], cached.tag == tag {
            recent[hint & recentMask] = nil
        }
        freeSlots.append(slot)
        return slots[slot].take()
    }

    /// Drops every key and value.
    @inlinable public mutating func removeAll() {
        slots = []
        slotsByKey = [:]
        freeSlots = []
        recent = Array(repeating: nil, count: recent.count)
    }
}
