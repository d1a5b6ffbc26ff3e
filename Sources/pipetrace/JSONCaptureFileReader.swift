import CaptureFormats
import Events
import Glibc
import Packets

/// Reads the packets of a JSON-lines capture (`pipetrace capture -o`, or
/// Tracee's `-o json`) from a file, line by line in bounded memory: the
/// file edge in front of the pure `TraceeJSONReader`.
final class JSONCaptureFileReader: CaptureSource, @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let message: String
        var description: String { "\(path): \(message)" }
    }

    let path: String
    /// Lines that were not events pipetrace understands (skipped).
    private(set) var malformedLines = 0
    /// Events that are not packets (request records, flows, retransmits).
    private(set) var otherEvents = 0
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// A line longer than this is not one of ours: skipped, so memory stays bounded.
    private let maximumLine = 4 << 20

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, message: String(cString: strerror(errno))) }
    }

    deinit { close(fd) }

    /// Whether the file at `path` starts like a JSON capture rather than pcap or pcapng.
    static func isJSON(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var prefix = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &prefix, prefix.count)
        return n > 0 && TraceeJSONReader.looksLikeJSON(prefix[0..<n])
    }

    func replayNext(into replay: inout CaptureReplay, events: inout [ProbeEvent]) throws -> Bool {
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

/// Where `analyze` gets its packets: a pcap/pcapng file or a JSON capture.
/// Sendable so it can be handed to the thread that reads it; it is used by
/// one thread at a time, never shared (hence `@unchecked` on the readers).
protocol CaptureSource: AnyObject, Sendable {
    /// Reads the next packet and hands it to `replay`, which appends the
    /// events it completes to `events`; false at the end.
    func replayNext(into replay: inout CaptureReplay, events: inout [ProbeEvent]) throws -> Bool
}

extension CaptureFileReader: CaptureSource, @unchecked Sendable {}
