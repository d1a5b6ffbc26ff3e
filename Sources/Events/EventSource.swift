/// Where live events come from: the probe, or a test's list of events. The
/// loops that read one (`RequestTracer`, `CaptureSession.run`) ask it the
/// time too, so a test's source sets the clock its events are stamped by.
public protocol EventSource: AnyObject {
    /// How to turn the events' CLOCK_MONOTONIC timestamps into wall-clock time.
    var wallClock: WallClock { get }
    /// Now, on the clock of the events' timestamps (CLOCK_MONOTONIC ns).
    var now: UInt64 { get }
    /// Events lost before they were read (a full ring buffer).
    var lostEvents: UInt64 { get }
    /// Waits up to `timeoutMilliseconds` for events and hands each to `handler`, in order.
    func poll(timeoutMilliseconds: Int32, _ handler: (ProbeEvent) -> Void) throws
    /// Stops producing events.
    func detach()
    /// Hands out the events still waiting (after `detach`).
    func drain(_ handler: (ProbeEvent) -> Void)
}
