import Events

/// A test's event source, as NIOEmbedded is a test's channel: the events it
/// was given, one poll's worth at a time, on a clock that moves only when
/// it is polled (`step` per poll), so a run is the same every time.
final class ListEventSource: EventSource {
    let wallClock = WallClock(offsetNanoseconds: 1_700_000_000_000_000_000)
    private(set) var now: UInt64
    let lostEvents: UInt64 = 3
    /// The events each poll hands out, in order; `waiting` those still buffered at `detach`.
    private var polls: [[ProbeEvent]]
    private var waiting: [ProbeEvent]
    private let step: UInt64
    private(set) var polled = 0
    private(set) var deliveredEvents: UInt64 = 0
    private(set) var detached = false

    init(polls: [[ProbeEvent]], waiting: [ProbeEvent] = [], startingAt start: UInt64 = 1_000_000_000, step: UInt64 = 100_000_000) {
        self.polls = polls
        self.waiting = waiting
        now = start
        self.step = step
    }

    /// Whether every poll's events have been handed out.
    var isExhausted: Bool { polls.isEmpty }

    func poll(timeoutMilliseconds: Int32, _ handler: (ProbeEvent) -> Void) {
        precondition(!detached, "polled after detach")
        polled += 1
        now += step
        guard !polls.isEmpty else { return }
        let batch = polls.removeFirst()
        deliveredEvents += UInt64(batch.count)
        batch.forEach(handler)
    }

    func detach() { detached = true }

    func drain(_ handler: (ProbeEvent) -> Void) {
        deliveredEvents += UInt64(waiting.count)
        waiting.forEach(handler)
        waiting = []
    }
}

/// One end of 10.0.0.1:40000 → 10.0.0.2:8080 as the probe reports it.
struct Socket {
    var connectionID: UInt64
    var role: Role
    var pid: UInt32
    var tuple: SocketTuple

    static let client = Socket(connectionID: 1, role: .client, pid: 1000,
                               tuple: SocketTuple(local: Endpoint(address: IPAddress("10.0.0.1")!, port: 40000),
                                                  remote: Endpoint(address: IPAddress("10.0.0.2")!, port: 8080)))

    func io(_ direction: Direction, _ text: String, at time: UInt64) -> ProbeEvent {
        let header = EventHeader(pid: pid, tid: pid, comm: "curl", netns: 100, cgroupID: 1, connectionID: connectionID,
                                 timestamp: time, tuple: tuple, container: "app")
        return .data(DataEvent(header: header, enterTimestamp: time - 1000, direction: direction,
                               syscall: direction == .egress ? .write : .read, fd: 5, role: role,
                               length: UInt64(text.utf8.count), payload: Array(text.utf8)))
    }
}
