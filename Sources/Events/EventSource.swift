/// Where live events come from: the probe, or a test's list of events. The
/// loops that read one (`RequestTracer`, `CaptureSession.run`) ask it the
/// time too, so a test's source sets the clock its events are stamped by.
public protocol EventSource: AnyObject {
    /// How to turn the events' CLOCK_MONOTONIC timestamps into wall-clock time.
    var wallClock: WallClock { get }
    /// Now, on the clock of the events' timestamps (CLOCK_MONOTONIC ns).
    var now: UInt64 { get }
    /// Events handed out so far.
    var deliveredEvents: UInt64 { get }
    /// Events lost before they were read (a full ring buffer).
    var lostEvents: UInt64 { get }
    /// Waits up to `timeoutMilliseconds` for events and hands each to `handler`, in order.
    func poll(timeoutMilliseconds: Int32, _ handler: (ProbeEvent) -> Void) throws
    /// Stops producing events.
    func detach()
    /// Hands out the events still waiting (after `detach`).
    func drain(_ handler: (ProbeEvent) -> Void)
}

/// When a traced window started and stopped, on the events' clock.
public struct TracedWindow: Sendable, Equatable {
    public var startedAt: UInt64
    public var stoppedAt: UInt64

    public init(startedAt: UInt64 = 0, stoppedAt: UInt64 = 0) {
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
    }

    /// Seconds traced.
    public var seconds: Double { Double(stoppedAt &- startedAt) / 1e9 }
}

extension EventSource {
    /// The loop every tracing verb shares: hands each event to `feed` for
    /// `seconds` (nil: until `stop` says so), calls `polled` after
    /// each poll (to flush output or age state; returning false ends the
    /// window), tells `secondsLeft` each new whole number of seconds left,
    /// then detaches and drains what is still waiting into `feed`.
    @discardableResult
    public func trace(seconds: Double?, stop: () -> Bool, secondsLeft: ((UInt64) -> Void)? = nil,
                      polled: () -> Bool = { true }, _ feed: (ProbeEvent) -> Void) throws -> TracedWindow {
        let startedAt = now
        let deadline = seconds.map { startedAt + UInt64(max(0, $0) * 1e9) }
        var shownSecond: UInt64 = .max
        while !stop() {
            if let deadline {
                let now = self.now
                if now >= deadline { break }
                let left = (deadline - now + 999_999_999) / 1_000_000_000
                if let secondsLeft, left != shownSecond {
                    shownSecond = left
                    secondsLeft(left)
                }
            }
            try poll(timeoutMilliseconds: 50, feed)
            if !polled() { break }
        }
        let stoppedAt = now
        detach()
        drain(feed)
        return TracedWindow(startedAt: startedAt, stoppedAt: stoppedAt)
    }
}
