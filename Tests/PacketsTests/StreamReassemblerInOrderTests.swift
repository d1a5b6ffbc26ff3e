import TestSupport
@testable import Packets
import Testing

/// `receiveInOrder` is `receive`'s shortcut for the common segment, with its
/// own copy of the conditions under which the two agree: the same segments
/// through both paths must leave the same bytes and the same stream.
@Suite("StreamReassembler: the in-order shortcut agrees with receive")
struct StreamReassemblerInOrderTests {
    typealias Output = StreamReassembler.Output

    struct Segment {
        var sequence: UInt32
        var bytes: [UInt8]
        var missing: UInt32
        var fin: Bool
    }

    /// A stream cut into segments, then disturbed: some swapped, some sent
    /// again (whole or overlapping), some empty, some with cut bytes; the
    /// sequence numbers wrap past 2^32 in part of the runs.
    static func segments(seed: UInt64) -> (start: UInt32, [Segment]) {
        var random = SplitMix64(seed: seed)
        let start: UInt32 = random.next() % 2 == 0 ? 1000 : UInt32.max - 300
        var segments: [Segment] = []
        var sequence = start
        for i in 0..<40 {
            let count = Int(random.next() % 60)
            let missing = random.next() % 8 == 0 ? UInt32(random.next() % 20) : 0
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ i) }
            segments.append(Segment(sequence: sequence, bytes: bytes, missing: missing, fin: i == 39))
            sequence &+= UInt32(count) &+ missing
        }
        for _ in 0..<6 {
            let i = Int(random.next() % UInt64(segments.count - 1))
            switch random.next() % 3 {
            case 0: segments.swapAt(i, i + 1)
            case 1: segments.insert(segments[i], at: min(segments.count, i + 1 + Int(random.next() % 3)))
            default:
                var overlap = segments[i]
                overlap.bytes = Array(overlap.bytes.dropFirst(overlap.bytes.count / 2))
                overlap.sequence &+= UInt32(segments[i].bytes.count / 2)
                segments.insert(overlap, at: min(segments.count, i + 2))
            }
        }
        return (start, segments)
    }

    /// Feeds the segments as TCPReassembler does when `shortcut` (the shortcut
    /// first, FINs always through `receive`), or through `receive` alone.
    static func run(_ start: UInt32, _ segments: [Segment], shortcut: Bool) -> (out: [Output], stream: StreamReassembler) {
        var stream = StreamReassembler()
        _ = stream.synchronize(initialSequence: start &- 1)
        var out: [Output] = []
        for s in segments {
            let length = UInt32(s.bytes.count) + s.missing
            if shortcut && !s.fin && stream.receiveInOrder(sequence: s.sequence, length: length) {
                if length > 0 { out.append(.bytes(s.bytes[...], missing: s.missing)) }
                continue
            }
            stream.receive(sequence: s.sequence, bytes: s.bytes[...], missing: s.missing, fin: s.fin, into: &out)
        }
        return (out, stream)
    }

    @Test("disturbed streams give the same bytes, gaps and end, and the same counts, either way", arguments: 0..<200)
    func shortcutAgrees(seed: UInt64) {
        let (start, segments) = Self.segments(seed: seed)
        let plain = Self.run(start, segments, shortcut: false)
        let fast = Self.run(start, segments, shortcut: true)
        #expect(Self.flattened(fast.out) == Self.flattened(plain.out))
        #expect(fast.stream.nextSequence == plain.stream.nextSequence)
        #expect(fast.stream.isFinished == plain.stream.isFinished)
        #expect(fast.stream.retransmittedSegments == plain.stream.retransmittedSegments)
        #expect(fast.stream.gapBytes == plain.stream.gapBytes)
    }

    @Test("the shortcut takes what follows on and refuses the rest, changing nothing")
    func shortcutRefuses() {
        var stream = StreamReassembler()
        _ = stream.synchronize(initialSequence: 99)
        let follows = stream.receiveInOrder(sequence: 100, length: 10)
        #expect(follows && stream.nextSequence == 110)
        let afterHole = stream.receiveInOrder(sequence: 120, length: 5)
        let again = stream.receiveInOrder(sequence: 105, length: 5)
        #expect(!afterHole && !again && stream.nextSequence == 110)
        var out: [Output] = []
        stream.receive(sequence: 120, bytes: [1, 2, 3][...], into: &out)  // now something waits behind a hole
        let behindHole = stream.receiveInOrder(sequence: 110, length: 10)
        #expect(!behindHole && stream.nextSequence == 110 && out.isEmpty)
    }

    /// Outputs as one comparable list: adjacent byte runs joined (the shortcut
    /// delivers a segment as one run where `receive` may deliver it in parts).
    static func flattened(_ out: [Output]) -> [String] {
        var result: [String] = []
        var bytes: [UInt8] = []
        func flush() {
            if !bytes.isEmpty { result.append("bytes \(bytes)") }
            bytes = []
        }
        for o in out {
            switch o {
            case .bytes(let b, let missing):
                bytes += b
                if missing > 0 { flush(); result.append("missing \(missing)") }
            case .gap(let n): flush(); result.append("gap \(n)")
            case .end: flush(); result.append("end")
            }
        }
        flush()
        return result
    }
}
