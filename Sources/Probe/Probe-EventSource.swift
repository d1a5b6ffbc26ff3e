import Events

extension Probe: EventSource {
    public var now: UInt64 { Probe.monotonicNow() }
    public var deliveredEvents: UInt64 { statistics.events }
    public var lostEvents: UInt64 { statistics.lostEvents }
}
