import Events
import Packets

/// Where `analyze` gets its packets: a pcap/pcapng file or a JSON capture.
/// Sendable so it can be handed to the thread that reads it; it is used by
/// one thread at a time, never shared (hence `@unchecked` on the readers).
public protocol CaptureSource: AnyObject, Sendable {
    /// Reads the next packet and hands it to `replay`, which appends the
    /// events it completes to `events`; false at the end.
    func replayNext(into replay: inout CaptureReplay, events: inout [ProbeEvent]) throws -> Bool
}

extension CaptureFileReader: CaptureSource, @unchecked Sendable {}

/// Opens `path` as the capture it is: JSON lines (by its first bytes), else
/// pcap or pcapng with a link-layer type pipetrace reads.
public func openCaptureFile(_ path: String) throws -> CaptureSource {
    if JSONCaptureFileReader.isJSON(path: path) { return try JSONCaptureFileReader(path: path) }
    let pcap = try CaptureFileReader(path: path)
    guard pcap.linkType.isSupported else {
        throw CaptureFileReader.Failure(
            path: path, message: "link-layer type \(pcap.linkTypeNumber) is not one pipetrace reads (Ethernet, Linux cooked, raw IP, loopback)")
    }
    return pcap
}
