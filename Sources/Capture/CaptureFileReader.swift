import CLibPcap
import Events
import Packets

/// Reads a pcap or pcapng file through libpcap, packet by packet: the one
/// place that touches libpcap, and the thin edge in front of the pure
/// `CaptureReplay`. Timestamps are asked for in nanoseconds whatever the
/// file's precision. libpcap's own checks decide what is a capture file;
/// its messages (truncated, unknown format) reach the user as they are.
public final class CaptureFileReader {
    /// A file libpcap would not open or could not read to its end.
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let message: String
        /// "FILE: what is wrong", once (libpcap sometimes names the file itself).
        public var description: String { message.hasPrefix("\(path): ") ? message : "\(path): \(message)" }
    }

    public let path: String
    public let linkType: LinkType
    /// The file's link-layer type number (LINKTYPE_*), for messages.
    public let linkTypeNumber: Int32
    private let reader: OpaquePointer

    public init(path: String) throws {
        self.path = path
        var error = [CChar](repeating: 0, count: 512)
        guard let reader = pt_pcap_reader_open(path, &error, error.count) else {
            throw Failure(path: path, message: CaptureFileReader.readable(
                String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        self.reader = reader
        linkTypeNumber = pt_pcap_reader_link_type(reader)
        linkType = LinkType(linkTypeNumber)
    }

    deinit { pt_pcap_reader_close(reader) }

    /// Reads the next packet and hands it to `replay` where libpcap holds it
    /// (valid until the next read): no copy of the packet, only of the
    /// payloads its events carry. False at the end of the file; throws when
    /// the file is cut or corrupt there.
    public func replayNext(into replay: inout CaptureReplay, events: inout [ProbeEvent]) throws -> Bool {
        var data: UnsafePointer<UInt8>?
        var caplen: UInt32 = 0, length: UInt32 = 0, timestamp: UInt64 = 0
        switch pt_pcap_reader_next(reader, &data, &caplen, &length, &timestamp) {
        case 1:
            guard let data else { return false }
            replay.process(timestamp: timestamp, linkType: linkType,
                           bytes: UnsafeRawBufferPointer(start: data, count: Int(caplen)),
                           originalLength: Int(length), into: &events)
            return true
        case 0:
            return false
        default:
            throw Failure(path: path, message: CaptureFileReader.readable(String(cString: pt_pcap_reader_error(reader))))
        }
    }

    /// libpcap's message on one line, and "not a capture file" said plainly.
    private static func readable(_ message: String) -> String {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        if line.contains("file header bytes, only got 0") { return "empty file, not a pcap or pcapng capture" }
        if line.contains("unknown file format") { return "not a pcap or pcapng capture file (\(line))" }
        if line.isEmpty { return "cannot read the capture" }
        return line
    }
}
