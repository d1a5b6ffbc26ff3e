import Events
import Testing

@Suite("SlotTable: values in reused slots, found by key or by a remembered tag")
struct SlotTableTests {
    @Test("a key finds its slot; a value is taken out, changed and put back; a removed key's slot is reused")
    func slots() {
        var table = SlotTable<String, Int, UInt64>(recentPlaces: 4)
        let a = table.reserve("a")
        table.put(1, in: a)
        let b = table.reserve("b")
        table.put(2, in: b)
        #expect(a != b && table.count == 2)
        #expect(table.reserve("a") == a, "a key already held keeps its slot")
        #expect(table.slot("b") == b && table["b"] == 2)
        let taken = table.take(b)
        #expect(taken == 2 && table["b"] == nil && table.count == 2, "a value taken out is still counted, not seen")
        table.put(20, in: b)
        #expect(table.remove("a") == 1)
        #expect(table.slot("a") == nil && table.count == 1)
        #expect(table.reserve("c") == a, "the freed slot is reused")
        #expect(table.values == [20])
        table.removeAll()
        #expect(table.count == 0 && table.values.isEmpty && table.slot("b") == nil)
    }

    @Test("a tag remembered at a place finds the slot; a colliding tag or a removed key falls back to the key")
    func recentTags() {
        var table = SlotTable<String, Int, UInt64>(recentPlaces: 2)
        let a = table.reserve("a", tag: (7, hint: 0))
        table.put(1, in: a)
        let b = table.reserve("b")
        table.put(2, in: b)
        #expect(table.slot("a", tag: 7, hint: 0) == a)
        // Another tag at the same place: looked up by its key, then remembered there instead.
        #expect(table.slot("b", tag: 8, hint: 2) == b)
        #expect(table.slot("a", tag: 7, hint: 0) == a)
        // Removing the key clears its place, so the tag no longer finds the reused slot under the old key.
        table.remove("a", tag: (7, hint: 0))
        let c = table.reserve("c")
        table.put(3, in: c)
        #expect(c == a)
        #expect(table.slot("a", tag: 7, hint: 0) == nil)
        #expect(table.slot("c", tag: 9, hint: 0) == c)
    }
}
