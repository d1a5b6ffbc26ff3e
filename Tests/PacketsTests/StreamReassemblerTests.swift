import Packets
import Testing

@Suite("StreamReassembler: one direction's bytes back in order")
struct StreamReassemblerTests {
    typealias Output = StreamReassembler.Output

    /// Feeds (sequence, text) pieces in the given order; returns the text delivered and the reassembler.
    func feed(_ pieces: [(UInt32, String)], start: UInt32? = 1000, fin: UInt32? = nil) -> (String, StreamReassembler) {
        var r = StreamReassembler()
        var out: [Output] = []
        if let start { _ = r.synchronize(initialSequence: start - 1) }
        for (seq, text) in pieces {
            r.receive(sequence: seq, bytes: Array(text.utf8)[...], fin: fin == seq, into: &out)
        }
        return (Output.text(out), r)
    }

    @Test("in-order segments come out as they went in")
    func inOrder() {
        let (text, r) = feed([(1000, "GET / "), (1006, "HTTP/1.1\r\n")])
        #expect(text == "GET / HTTP/1.1\r\n")
        #expect(r.retransmittedSegments == 0)
    }

    @Test("out-of-order segments wait for the bytes before them, and come out once they arrive")
    func outOfOrder() {
        var r = StreamReassembler()
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1006, bytes: Array("world".utf8)[...], into: &out)
        r.receive(sequence: 1011, bytes: Array("!".utf8)[...], into: &out)
        #expect(out.isEmpty)
        r.receive(sequence: 1000, bytes: Array("hello ".utf8)[...], into: &out)
        #expect(out == [.bytes(Array("hello ".utf8)[...], missing: 0), .bytes(Array("world".utf8)[...], missing: 0),
                        .bytes(Array("!".utf8)[...], missing: 0)])
        #expect(r.retransmittedSegments == 0)
    }

    @Test("a retransmitted segment is counted once and its bytes are not delivered twice")
    func retransmit() {
        let (text, r) = feed([(1000, "abc"), (1003, "def"), (1000, "abc"), (1003, "def")])
        #expect(text == "abcdef")
        #expect(r.retransmittedSegments == 2)
    }

    @Test("a segment overlapping what was delivered gives its new bytes only, and counts as a retransmission")
    func partialOverlap() {
        let (text, r) = feed([(1000, "abc"), (1001, "bcdef")])
        #expect(text == "abcdef")
        #expect(r.retransmittedSegments == 1)
    }

    @Test("a duplicate of a segment still waiting out of order counts as a retransmission")
    func duplicateWhileWaiting() {
        let (text, r) = feed([(1003, "def"), (1003, "def"), (1000, "abc")])
        #expect(text == "abcdef")
        #expect(r.retransmittedSegments == 1)
    }

    @Test("overlapping out-of-order segments are trimmed, not duplicated")
    func overlappingWaiting() {
        let (text, _) = feed([(1004, "efgh"), (1002, "cdef"), (1000, "ab")])
        #expect(text == "abcdefgh")
    }

    @Test("a hole the receiver acknowledged past becomes a gap of its exact size")
    func gapByAcknowledgment() {
        var r = StreamReassembler()
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1000, bytes: Array("abc".utf8)[...], into: &out)
        r.receive(sequence: 1010, bytes: Array("xyz".utf8)[...], into: &out)
        #expect(Output.text(out) == "abc")
        r.acknowledge(1013, into: &out)
        #expect(Output.text(out) == "abc_______xyz")
        #expect(out.contains(.gap(7)))
        #expect(r.gaps == 1 && r.gapBytes == 7)
    }

    @Test("an acknowledgment below the hole's far side does not give it up")
    func earlyAcknowledgment() {
        var r = StreamReassembler()
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1010, bytes: Array("xyz".utf8)[...], into: &out)
        r.acknowledge(1005, into: &out)
        #expect(out.isEmpty)
        r.receive(sequence: 1000, bytes: Array("0123456789".utf8)[...], into: &out)
        #expect(Output.text(out) == "0123456789xyz")
        #expect(r.gaps == 0)
    }

    @Test("at the end of the stream, waiting bytes are delivered after a gap")
    func gapAtFlush() {
        var (_, r) = feed([(1000, "ab"), (1004, "ef")])
        var out: [Output] = []
        r.flush(into: &out)
        #expect(Output.text(out) == "__ef")
    }

    @Test("too many bytes waiting behind a hole give it up")
    func gapByLimit() {
        var r = StreamReassembler(maxPendingBytes: 4)
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1002, bytes: Array("cde".utf8)[...], into: &out)
        #expect(out.isEmpty)
        r.receive(sequence: 1005, bytes: Array("fg".utf8)[...], into: &out)
        #expect(Output.text(out) == "__cdefg")
    }

    @Test("a stream seen from its middle starts at the first segment seen")
    func midStream() {
        let (text, r) = feed([(77_000, "body\r\n"), (77_006, "GET /")], start: nil)
        #expect(text == "body\r\nGET /")
        #expect(r.nextSequence == 77_011)
    }

    @Test("sequence numbers wrap around 2^32")
    func wraparound() {
        let (text, r) = feed([(UInt32.max - 1, "ab"), (0, "cd"), (UInt32.max - 1, "ab")], start: UInt32.max - 1)
        #expect(text == "abcd")
        #expect(r.retransmittedSegments == 1)
    }

    @Test("the FIN ends the stream after the bytes before it, even when they arrive after it")
    func finAfterData() {
        var r = StreamReassembler()
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1003, bytes: Array("def".utf8)[...], fin: true, into: &out)
        #expect(!r.isFinished)
        r.receive(sequence: 1000, bytes: Array("abc".utf8)[...], into: &out)
        #expect(Output.text(out) == "abcdef|")
        #expect(r.isFinished)
    }

    @Test("bytes the snap length cut off come out as missing, so a parser can skip them by count")
    func snapLength() {
        var r = StreamReassembler()
        _ = r.synchronize(initialSequence: 999)
        var out: [Output] = []
        r.receive(sequence: 1000, bytes: Array("abc".utf8)[...], missing: 5, into: &out)
        r.receive(sequence: 1008, bytes: Array("z".utf8)[...], into: &out)
        #expect(out == [.bytes(Array("abc".utf8)[...], missing: 5), .bytes(Array("z".utf8)[...], missing: 0)])
    }

    @Test("a keep-alive probe (one old byte) is not a retransmission")
    func keepAlive() {
        let (_, r) = feed([(1000, "abc"), (1002, "c")])
        #expect(r.retransmittedSegments == 0)
    }

    @Test("a SYN seen again is a retransmitted SYN")
    func synAgain() {
        var r = StreamReassembler()
        let first = r.synchronize(initialSequence: 5)
        let again = r.synchronize(initialSequence: 5)
        #expect(!first && again)
        #expect(r.retransmittedSegments == 1)
    }
}
