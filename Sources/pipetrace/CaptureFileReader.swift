import CLibPcap
import Packets

/// Reads a pcap or pcapng file through libpcap, packet by packet: the one
/// place that touches libpcap, and the thin edge in front of the pure
/// `CaptureReplay`. Timestamps are asked for in nanoseconds whatever the
/// file's precision. libpcap's own checks decide what is a capture file;
/// its messages (truncated, unknown format) reach the user as they are.
final class CaptureFileReader {
    /// A file libpcap would not open or could not read to its end.
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let message: String
        /// "FILE: what is wrong", once (libpcap sometimes names the file itself).
        var description: String { message.hasPrefix("\(path): ") ? message : "\(path): \(message)" }
    }

    let path: String
    let linkType: LinkType
    /// The file's link-layer type number (LINKTYPE_*), for messages.
    let linkTypeNumber: Int32
    private let handle: OpaquePointer

    init(path: String) throws {
        self.path = path
        var error = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &error) else {
            throw Failure(path: path, message: CaptureFileReader.readable(
                String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        self.handle = handle
        linkTypeNumber = pcap_datalink(handle)
        linkType = LinkType(linkTypeNumber)
    }

    deinit { pcap_close(handle) }

    /// The next packet, or nil at the end of the file; throws when the file is cut or corrupt there.
    func next() throws -> CapturedPacket? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return nil }
            let h = header.pointee
            // Nanosecond precision: tv_usec holds nanoseconds.
            let timestamp = UInt64(max(0, h.ts.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, h.ts.tv_usec))
            let bytes = Array(UnsafeBufferPointer(start: data, count: Int(h.caplen)))
            return CapturedPacket(timestamp: timestamp, linkType: linkType, bytes: bytes, originalLength: Int(h.len))
        case PCAP_ERROR_BREAK:
            return nil
        default:
            throw Failure(path: path, message: CaptureFileReader.readable(String(cString: pcap_geterr(handle))))
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
