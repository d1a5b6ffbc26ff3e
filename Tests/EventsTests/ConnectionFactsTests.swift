import Events
import Testing

@Suite("Connection facts")
struct ConnectionFactsTests {
    func header(_ id: UInt64, comm: String = "nginx") -> EventHeader {
        EventHeader(pid: 1, tid: 1, comm: comm, netns: 2, cgroupID: 3, connectionID: id, timestamp: 0,
                    tuple: SocketTuple(local: Endpoint(address: IPAddress(ipv4: [10, 0, 0, 1]), port: 80),
                                       remote: Endpoint(address: IPAddress(ipv4: [10, 0, 0, 2]), port: 41000)))
    }

    @Test("the facts sent last for a connection are the ones kept")
    func replaced() {
        var facts = ConnectionFacts()
        facts.keep(header(1), generation: 0)
        facts.keep(header(1, comm: "envoy"), generation: 1)
        #expect(facts[1]?.header.comm == "envoy" && facts[1]?.generation == 1)
        #expect(facts[2] == nil && facts.count == 1)
    }

    @Test("a closed connection's facts are kept until as many connections as it keeps closed after it")
    func closedKept() {
        var facts = ConnectionFacts(closedKept: 2)
        for id in 1...4 as ClosedRange<UInt64> { facts.keep(header(id), generation: 0) }
        facts.close(1)
        facts.close(2)
        facts.close(99) // never seen: nothing to forget
        #expect(facts.count == 4)
        facts.close(3)
        #expect(facts[1] == nil && facts[2] != nil && facts[3] != nil && facts[4] != nil)
        facts.close(4)
        #expect(facts[2] == nil && facts[3] != nil && facts[4] != nil && facts.count == 2)
    }

    @Test("past its capacity the least recently used facts go, never those of a connection still in use")
    func leastRecentlyUsedGo() {
        var facts = ConnectionFacts(capacity: 4) // two turns of 2
        facts.keep(header(1), generation: 0)
        facts.keep(header(2), generation: 0)
        facts.keep(header(3), generation: 0) // a new turn: 1 and 2 are the turn before
        #expect(facts.use(1) != nil) // used: back in this turn
        facts.keep(header(4), generation: 0) // another turn: 2, not used since, goes
        #expect(facts[1] != nil && facts[2] == nil && facts[3] != nil && facts[4] != nil && facts.count == 3)
        // Thousands of connections whose closes were lost: bounded, and the one in use all along stays.
        for id in 100..<5_000 as Range<UInt64> {
            facts.keep(header(id), generation: 0)
            #expect(facts.use(1) != nil)
        }
        #expect(facts.count <= 4 && facts[1] != nil)
        #expect(facts.use(2) == nil)
    }
}
