import TestSupport
import Foundation
import Events
import Packets
import Testing

/// Captures are attacker-controlled: random and mutated bytes must never
/// crash the decoder or the reassembler, and reassembly must be exact
/// whatever order and repetition the segments come in. Seeded, so a failure
/// replays; `PIPETRACE_FUZZ_ITERATIONS` raises the count for a longer run.
@Suite("Fuzzing the packet decoder and the reassembler")
struct CaptureFuzzTests {
    static let iterations = Int(ProcessInfo.iterations) ?? 3000

    @Test("random and mutated packets decode or are rejected, never crash, and what decodes reassembles", arguments: [1, 2, 3, 4])
    func mutatedPackets(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let client = PacketBuilder()
        let valid = [client.frame(sequence: 1, flags: [.syn]), client.reversed.frame(sequence: 7, flags: [.syn, .ack]),
                     client.frame(sequence: 2, payload: "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"),
                     client.reversed.frame(sequence: 8, payload: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                     client.frame(sequence: 2, flags: [.fin, .ack])]
        let types: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .raw, .null, .ipv6, LinkType(42)]
        var replay = CaptureReplay(configuration: TCPReassembler.Configuration(maxPendingBytes: 1 << 12, maxConnections: 64))
        var decoded = 0
        for i in 0..<Self.iterations {
            var bytes: [UInt8]
            if i % 5 == 0 {
                bytes = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = valid.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...6, using: &rng) where !bytes.isEmpty {
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
                    case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                    default: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 0xff
                    }
                }
            }
            let type = i % 7 == 0 ? types.randomElement(using: &rng)! : .ethernet
            let original = bytes.count + (i % 11 == 0 ? Int.random(in: 0..<100_000, using: &rng) : 0)
            let packet = CapturedPacket(timestamp: UInt64(i) * 1000, linkType: type, bytes: bytes, originalLength: original)
            if case .tcp? = try? PacketDecoder.decode(packet) { decoded += 1 }
            _ = replay.process(packet)
        }
        _ = replay.finish()
        #expect(replay.counters.packets == UInt64(Self.iterations))
        #expect(decoded > 0 && replay.counters.malformed > 0)
        #expect(replay.reassembler.openConnections == 0)
    }

    @Test("segments shuffled, repeated and overlapping reassemble to exactly the bytes sent", arguments: [11, 12, 13, 14])
    func shuffledStreams(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<max(1, Self.iterations / 20) {
            let length = Int.random(in: 1..<3000, using: &rng)
            let sent = (0..<length).map { _ in UInt8.random(in: 0x61...0x7a, using: &rng) }
            let isn = UInt32.random(in: 0...UInt32.max, using: &rng)
            // Cut into pieces, some overlapping their neighbours, some sent twice, in any order.
            var pieces: [(Int, Int)] = []
            var at = 0
            while at < length {
                let size = Int.random(in: 1...400, using: &rng)
                let back = at > 0 && Bool.random(using: &rng) ? Int.random(in: 0...min(at, 50), using: &rng) : 0
                pieces.append((at - back, min(length, at + size)))
                at = min(length, at + size)
            }
            pieces += pieces.filter { _ in Int.random(in: 0..<4, using: &rng) == 0 }
            pieces.shuffle(using: &rng)
            var r = StreamReassembler()
            _ = r.synchronize(initialSequence: isn)
            var out: [StreamReassembler.Output] = []
            for (from, to) in pieces {
                r.receive(sequence: isn &+ 1 &+ UInt32(from), bytes: sent[from..<to], into: &out)
            }
            r.flush(into: &out)
            let received = out.flatMap { o -> [UInt8] in if case .bytes(let b, _) = o { Array(b) } else { [] } }
            #expect(received == sent)
            #expect(!out.contains { if case .gap = $0 { true } else { false } })
        }
    }

    @Test("with segments dropped, bytes delivered plus gaps add up to the stream's length, each byte in its place",
          arguments: [21, 22])
    func droppedSegments(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<max(1, Self.iterations / 20) {
            let sent = (0..<Int.random(in: 10..<2000, using: &rng)).map { _ in UInt8.random(in: 0x61...0x7a, using: &rng) }
            var pieces: [(Int, Int)] = []
            var at = 0
            while at < sent.count {
                let end = min(sent.count, at + Int.random(in: 1...200, using: &rng))
                pieces.append((at, end))
                at = end
            }
            let kept = [pieces[0]] + pieces.dropFirst().filter { _ in Int.random(in: 0..<3, using: &rng) != 0 }
            // The first piece fixes where the stream starts (seen mid-stream, so it must come first).
            var first = StreamReassembler()
            var firstOut: [StreamReassembler.Output] = []
            first.receive(sequence: 5000, bytes: sent[0..<kept[0].1], into: &firstOut)
            for (from, to) in kept.dropFirst().shuffled(using: &rng) {
                first.receive(sequence: 5000 + UInt32(from), bytes: sent[from..<to], into: &firstOut)
            }
            first.acknowledge(5000 + UInt32(sent.count), into: &firstOut)
            first.flush(into: &firstOut)
            var rebuilt: [UInt8?] = []
            for o in firstOut {
                switch o {
                case .bytes(let b, _): rebuilt += b.map { Optional($0) }
                case .gap(let n): rebuilt += [UInt8?](repeating: nil, count: Int(n))
                case .end: break
                }
            }
            let lastKept = kept.map(\.1).max()!
            #expect(rebuilt.count == lastKept)
            #expect(zip(rebuilt, sent).allSatisfy { $0 == nil || $0 == $1 })
        }
    }
}

extension ProcessInfo {
    static var iterations: String {
        ProcessInfo.processInfo.environment["PIPETRACE_FUZZ_ITERATIONS"] ?? ""
    }
}
