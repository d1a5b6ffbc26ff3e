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
public struct ConnectionFacts: Sendable {
    /// A header as its facts event gave it, and the naming generation its container is of.
    public struct Entry: Sendable {
        public var header: EventHeader
        public var generation: UInt32
    }

    private var entries: [UInt64: Entry] = [:]
    /// Closed connections, oldest first from `nextClosed`, each forgotten when `closedKept` more closed.
    private var closed: [UInt64] = []
    private var nextClosed = 0
    private let closedKept: Int
    /// More connections than this at once means their closes were lost (ring buffer full): start over.
    private let capacity: Int

    /// Facts of connections not closed, or closed fewer than `closedKept` closes ago.
    public var count: Int { entries.count }

    public init(closedKept: Int = 4096, capacity: Int = 1 << 17) {
        self.closedKept = max(1, closedKept)
        self.capacity = capacity
    }

    public subscript(connectionID: UInt64) -> Entry? { entries[connectionID] }

    /// Keeps `header` as the facts of its connection, replacing what was kept.
    public mutating func keep(_ header: EventHeader, generation: UInt32) {
        if entries.count >= capacity, entries[header.connectionID] == nil {
            entries.removeAll(keepingCapacity: true)
            closed.removeAll(keepingCapacity: true)
            nextClosed = 0
        }
        entries[header.connectionID] = Entry(header: header, generation: generation)
    }

    /// The connection reached TCP CLOSE: its facts go `closedKept` closes later.
    public mutating func close(_ connectionID: UInt64) {
        guard entries[connectionID] != nil else { return }
        if closed.count < closedKept {
            closed.append(connectionID)
            return
        }
        entries[closed[nextClosed]] = nil
        closed[nextClosed] = connectionID
        nextClosed = (nextClosed + 1) % closedKept
    }
}
