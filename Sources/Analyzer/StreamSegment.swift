/// Which end of a connection sent some bytes. Requests flow from the client,
/// responses from the server, whatever the traced process is.
public enum Sender: String, Sendable, Hashable {
    case client, server

    /// The end that receives what this end sends.
    public var peer: Sender { self == .client ? .server : .client }
}

/// The bytes one syscall moved in one direction, as a parser sees them:
/// the captured prefix, then `missing` bytes that moved but were not
/// captured (the probe's payload cap, sendfile, a fault). A parser skips
/// missing bytes by count when it knows their framing (a body), which is
/// how request boundaries survive truncated payloads.
public struct StreamSegment: Sendable, Hashable {
    public var bytes: ArraySlice<UInt8>
    public var missing: UInt64

    public init(bytes: ArraySlice<UInt8>, missing: UInt64 = 0) {
        self.bytes = bytes
        self.missing = missing
    }

    public init(_ text: String, missing: UInt64 = 0) {
        self.init(bytes: Array(text.utf8)[...], missing: missing)
    }

    /// Bytes moved, captured or not.
    public var length: UInt64 { UInt64(bytes.count) + missing }
}
