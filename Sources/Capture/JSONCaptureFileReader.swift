import CaptureFormats
import Events
import Glibc
import Packets

/// Reads the packets of a JSON-lines capture (`pipetrace capture -o`, or
/// Tracee's `-o json`) from a file, line by line in bounded memory: the
/// file edge in front of the pure `TraceeJSONReader`.
public final class JSONCaptureFileReader: CaptureSource, @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    public let path: String
    /// Lines that were not events pipetrace understands (skipped).
    public private(set) var malformedLines = 0
    /// Events that are not packets (request records, flows, retransmits).
    public private(set) var otherEvents = 0
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// A line longer than this is not one of ours: skipped, so memory stays bounded.
    private let maximumLine = 4 << 20

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, message: String(cString: strerror(errno))) }
    }

    deinit { close(fd) }

    /// Whether the file at `path` starts like a JSON capture rather than pcap or pcapng.
    public static func isJSON(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var prefix = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &prefix, prefix.count)
        return n > 0 && TraceeJSONReader.looksLikeJSON(prefix[0..<n])
    }

    public func replayNext(into replay: inout CaptureReplay, events: inout [ProbeEvent]) throws -> Bool {
        while let line = try nextLine() {
            switch TraceeJSONReader.read(line) {
            case .packet(let packet):
                replay.process(packet, into: &events)
                return true
            case .otherEvent: otherEvents += 1
            case .malformed: malformedLines += 1
            }
        }
        return false
    }

    private func nextLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0a) {
                defer { start = newline + 1 }
                return Array(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            buffer.removeSubrange(0..<start)
            start = 0
            if buffer.count > maximumLine { // no newline in sight: drop it as one malformed line
                malformedLines += 1
                buffer.removeAll(keepingCapacity: true)
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, message: String(cString: strerror(errno)))
            }
            if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }
}
