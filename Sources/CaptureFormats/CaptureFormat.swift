import Analyzer
import Events

/// A capture file format: the seam where a new one plugs in. A format turns
/// packets and observations into bytes; writing them is the caller's edge.
public protocol CaptureFormat {
    /// The bytes a file starts with.
    mutating func begin() -> [UInt8]
    /// The bytes for one packet (and whatever must precede it, such as a new interface).
    mutating func encode(_ packet: AnnotatedPacket) -> [UInt8]
    /// The bytes for an observation that is not a packet; [] when the format has no place for it.
    mutating func encode(_ note: CaptureNote) -> [UInt8]
}

/// What a capture records besides packets.
public enum CaptureNote: Sendable, Hashable {
    /// A completed request/response exchange.
    case request(RequestRecord)
    /// A connection opened (connect or accept).
    case connectionOpened(ConnectionEvent)
    /// A connection's descriptor closed.
    case connectionClosed(ConnectionEvent)
    /// The kernel sent segments again.
    case retransmit(RetransmitEvent)
}
