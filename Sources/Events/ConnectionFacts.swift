/// What a data event leaves out, per connection: the process name, cgroup,
/// namespace, addresses and container of the last PT_EVENT_CONN_FACTS the
/// kernel sent for it, which the decoder completes the connection's data
/// events with. The kernel sends them again whenever they change (another
/// process, a new process name, another cgroup), so the last ones are those
/// of the data events that follow (all but a race: two threads with
/// different names using one connection at the same instant on two CPUs
/// can see one event carry the other's name).
///
/// A connection's facts are kept after it closed (TCP CLOSE) until
/// `closedKept` more connections closed: a data event raised as its
/// connection closed can lie after the close on the ring buffer.
///
/// Bounded by `capacity`, least recently used first: a close lost to a full
/// ring buffer, or a connection the kernel's table (`pt_conns`, an LRU of
/// 65,536) let go and numbered anew, leaves facts no close will remove.
/// They are kept in two turns of `capacity / 2` each: facts kept or used
/// since the current turn began, and those of the turn before, which move
/// back into the current one when used; when the current turn is full the
/// one before is dropped. A connection's facts are therefore forgotten only
/// once `capacity / 2` others were kept or used after its last event: with
/// the default, as many as the kernel's table holds, which would have let
/// that connection go too (and sends a new one's facts with its next event).
/// Dropping everything at once instead would lose the facts of every live
/// connection, and the kernel sends them only when they change.
public struct ConnectionFacts: Sendable {
    /// A header as its facts event gave it, and the naming generation its container is of.
    public struct Entry: Sendable {
        public var header: EventHeader
        public var generation: UInt32
    }

    /// Facts kept or used in this turn, and in the turn before.
    private var current: [UInt64: Entry] = [:]
    private var previous: [UInt64: Entry] = [:]
    /// Closed connections, oldest first from `nextClosed`, each forgotten when `closedKept` more closed.
    private var closed: [UInt64] = []
    private var nextClosed = 0
    private let closedKept: Int
    private let turnSize: Int

    /// Facts of connections not closed, or closed fewer than `closedKept` closes ago.
    public var count: Int { current.count + previous.count }

    public init(closedKept: Int = 4096, capacity: Int = 1 << 17) {
        self.closedKept = max(1, closedKept)
        turnSize = max(1, capacity / 2)
    }

    /// The facts kept for a connection (without counting as a use).
    public subscript(connectionID: UInt64) -> Entry? { current[connectionID] ?? previous[connectionID] }

    /// The facts kept for a connection, for one of its events: a use, which keeps them from being the least recent.
    @inline(__always)
    public mutating func use(_ connectionID: UInt64) -> Entry? {
        if let entry = current[connectionID] { return entry }
        guard let entry = previous.removeValue(forKey: connectionID) else { return nil }
        insert(entry, connectionID)
        return entry
    }

    /// Keeps `header` as the facts of its connection, replacing what was kept.
    public mutating func keep(_ header: EventHeader, generation: UInt32) {
        let id = header.connectionID
        if current[id] == nil { previous[id] = nil }
        insert(Entry(header: header, generation: generation), id)
    }

    private mutating func insert(_ entry: Entry, _ id: UInt64) {
        if current.count >= turnSize, current[id] == nil {
            swap(&current, &previous)
            current.removeAll(keepingCapacity: true)
        }
        current[id] = entry
    }

    /// The connection reached TCP CLOSE: its facts go `closedKept` closes later.
    public mutating func close(_ connectionID: UInt64) {
        guard self[connectionID] != nil else { return }
        if closed.count < closedKept {
            closed.append(connectionID)
            return
        }
        let old = closed[nextClosed]
        current[old] = nil
        previous[old] = nil
        closed[nextClosed] = connectionID
        nextClosed = (nextClosed + 1) % closedKept
    }
}
