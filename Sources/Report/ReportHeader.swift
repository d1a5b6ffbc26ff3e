/// What a reader of the report must know before its pictures: the command
/// and window it came from, and everything that makes it less than complete
/// (events lost in the kernel, probe features this host lacks), stated at
/// the top.
public struct ReportHeader: Sendable {
    /// What made the report: "pipetrace stat", "pipetrace analyze capture.pcap".
    public var title: String
    /// Seconds traced (or the capture's span).
    public var windowSeconds: Double
    /// Probe events the kernel could not hand over (ring buffer full).
    public var lostEvents: UInt64
    /// TCP resets seen in the window (records do not carry them, so they are not drawn per pair).
    public var resets: UInt64?
    /// Sentences about degraded probe features or missed data, one warning each.
    public var warnings: [String]

    public init(title: String, windowSeconds: Double, lostEvents: UInt64, resets: UInt64? = nil, warnings: [String] = []) {
        self.title = title
        self.windowSeconds = windowSeconds
        self.lostEvents = lostEvents
        self.resets = resets
        self.warnings = warnings
    }
}
