/// One direction of a TCP connection put back in order: segments in, in
/// whatever order and as often as the capture holds them; contiguous bytes
/// out, each exactly once, with every hole the capture missed reported as a
/// gap of its size. Pure: sequence numbers only, no clock.
///
/// - Out-of-order segments wait until the bytes before them arrive.
/// - Bytes already delivered arriving again are a retransmission: counted,
///   dropped (the part of a segment that is new is kept).
/// - A hole is given up on, and reported as a gap, when the receiver has
///   acknowledged bytes beyond it (they will never be sent again), when more
///   than `maxPendingBytes` wait behind it, or at the end of the stream.
/// - A stream seen from its middle starts at the first segment seen.
public struct StreamReassembler: Sendable {
    /// What the stream yields, in stream order.
    public enum Output: Sendable, Hashable {
        /// Bytes that follow the previous output: the captured ones, then
        /// `missing` more the capture's snap length cut off.
        case bytes(ArraySlice<UInt8>, missing: UInt32)
        /// This many bytes were sent but never captured.
        case gap(UInt32)
        /// The sender's FIN: it sends nothing more.
        case end
    }

    struct Piece: Sendable {
        var sequence: UInt32
        var bytes: ArraySlice<UInt8>
        var missing: UInt32
        var length: UInt32 { UInt32(bytes.count) + missing }

        /// The piece without its first `count` bytes.
        func dropping(_ count: UInt32) -> Piece {
            let fromCaptured = min(Int(count), bytes.count)
            return Piece(sequence: sequence &+ count, bytes: bytes.dropFirst(fromCaptured),
                         missing: missing - (count - UInt32(fromCaptured)))
        }
    }

    public let maxPendingBytes: Int
    /// Segments waiting at most, so tiny segments cannot make holding them quadratic.
    public let maxPendingSegments: Int
    /// The sequence number of the next byte to deliver; nil until the stream's first segment.
    public private(set) var nextSequence: UInt32?
    /// Segments (or parts) that carried only bytes already delivered or already waiting.
    public private(set) var retransmittedSegments: UInt64 = 0
    public private(set) var gaps: UInt64 = 0
    public private(set) var gapBytes: UInt64 = 0
    /// The FIN was delivered.
    public private(set) var isFinished = false
    private var pending: [Piece] = []
    private var pendingBytes = 0
    private var finSequence: UInt32?
    /// The highest sequence number the receiver acknowledged.
    private var acknowledged: UInt32?

    public init(maxPendingBytes: Int = 4 << 20, maxPendingSegments: Int = 4096) {
        self.maxPendingBytes = max(0, maxPendingBytes)
        self.maxPendingSegments = max(1, maxPendingSegments)
    }

    /// How far `b` is after `a` in sequence space (RFC 1982 serial arithmetic).
    static func distance(_ a: UInt32, _ b: UInt32) -> Int64 { Int64(Int32(bitPattern: b &- a)) }

    /// A SYN with this initial sequence number: the first byte is the next one.
    /// Returns whether it repeats a SYN already seen (a retransmitted SYN).
    public mutating func synchronize(initialSequence: UInt32) -> Bool {
        if let next = nextSequence {
            if next == initialSequence &+ 1 {
                retransmittedSegments += 1
                return true
            }
            return false
        }
        nextSequence = initialSequence &+ 1
        return false
    }

    /// Takes one segment's payload (captured bytes, then `missing` cut ones)
    /// starting at `sequence`, and whether it carried a FIN. Returns whether
    /// it was (partly) a retransmission.
    @discardableResult
    public mutating func receive(sequence: UInt32, bytes: ArraySlice<UInt8>, missing: UInt32 = 0, fin: Bool = false,
                                 into out: inout [Output]) -> Bool {
        var piece = Piece(sequence: sequence, bytes: bytes, missing: missing)
        if nextSequence == nil { nextSequence = sequence }
        guard let next = nextSequence, !isFinished else {
            if piece.length > 0 { retransmittedSegments += 1 }
            return piece.length > 0
        }
        var retransmitted = false
        if piece.length > 0 {
            let offset = Self.distance(next, piece.sequence)
            if offset + Int64(piece.length) <= 0 {
                // Nothing new. A keep-alive probe (one byte, or none, just below) is not a retransmission.
                if !(offset == -1 && piece.length <= 1) {
                    retransmittedSegments += 1
                    retransmitted = true
                }
            } else {
                if offset < 0 {
                    piece = piece.dropping(UInt32(-offset))
                    retransmittedSegments += 1
                    retransmitted = true
                }
                if Self.distance(next, piece.sequence) == 0 {
                    deliver(piece, into: &out)
                    drain(into: &out)
                } else if hold(piece) {
                    retransmittedSegments += 1
                    retransmitted = true
                }
            }
        }
        if fin, finSequence == nil { finSequence = sequence &+ UInt32(bytes.count) &+ missing }
        giveUpHoles(into: &out)
        finishIfDue(into: &out)
        return retransmitted
    }

    /// `receive` for the segment nearly every stream is made of: it starts
    /// at the next byte (or carries no bytes), nothing waits behind a hole,
    /// and no FIN was seen (the caller passes FINs to `receive`). For such a
    /// segment `receive` would output its bytes as they are and nothing
    /// else; this takes it (the stream moves past it) and returns true, and
    /// the caller delivers the bytes itself, without an output buffer.
    /// False, changing nothing, for any other segment: it goes through
    /// `receive`. `length`: captured and cut bytes together.
    mutating func receiveInOrder(sequence: UInt32, length: UInt32) -> Bool {
        guard pending.isEmpty, finSequence == nil else { return false }
        let next = nextSequence ?? sequence
        guard length == 0 || next == sequence else { return false }
        nextSequence = next &+ length
        return true
    }

    /// The receiver acknowledged everything before `sequence`.
    public mutating func acknowledge(_ sequence: UInt32, into out: inout [Output]) {
        if let current = acknowledged, Self.distance(current, sequence) <= 0 { return }
        acknowledged = sequence
        giveUpHoles(into: &out)
    }

    /// The stream ends (RST, end of capture): what waits is delivered, holes as gaps.
    public mutating func flush(into out: inout [Output]) {
        while let first = pending.first, let next = nextSequence {
            skip(to: first.sequence, from: next, into: &out)
            drain(into: &out)
        }
        if !isFinished, finSequence != nil {
            if let next = nextSequence, let fin = finSequence, Self.distance(next, fin) > 0 {
                skip(to: fin, from: next, into: &out)
            }
            finishIfDue(into: &out)
        }
    }

    // MARK: Internals

    private mutating func deliver(_ piece: Piece, into out: inout [Output]) {
        out.append(.bytes(piece.bytes, missing: piece.missing))
        nextSequence = piece.sequence &+ piece.length
    }

    /// Keeps a segment that arrived early; returns true when it was already held (a duplicate).
    private mutating func hold(_ piece: Piece) -> Bool {
        guard let next = nextSequence else { return false }
        let offset = Self.distance(next, piece.sequence)
        if pending.contains(where: { $0.sequence == piece.sequence && $0.length >= piece.length }) { return true }
        let index = pending.firstIndex { Self.distance(next, $0.sequence) > offset } ?? pending.endIndex
        pending.insert(piece, at: index)
        pendingBytes += Int(piece.length)
        return false
    }

    /// Delivers waiting pieces that now follow on, trimming what overlaps.
    private mutating func drain(into out: inout [Output]) {
        while let first = pending.first, let next = nextSequence {
            let offset = Self.distance(next, first.sequence)
            guard offset <= 0 else { break }
            pending.removeFirst()
            pendingBytes -= Int(first.length)
            if offset + Int64(first.length) > 0 { deliver(first.dropping(UInt32(-offset)), into: &out) }
        }
        finishIfDue(into: &out)
    }

    private mutating func finishIfDue(into out: inout [Output]) {
        guard !isFinished, let fin = finSequence, let next = nextSequence, Self.distance(next, fin) <= 0 else { return }
        isFinished = true
        nextSequence = fin &+ 1
        pending = []
        pendingBytes = 0
        out.append(.end)
    }

    private mutating func skip(to sequence: UInt32, from next: UInt32, into out: inout [Output]) {
        let size = Self.distance(next, sequence)
        guard size > 0 else { return }
        gaps += 1
        gapBytes += UInt64(size)
        out.append(.gap(UInt32(size)))
        nextSequence = sequence
    }

    /// Holes the receiver has acknowledged past, or with too much waiting behind them, will never fill.
    private mutating func giveUpHoles(into out: inout [Output]) {
        while let first = pending.first, let next = nextSequence {
            let acknowledgedPast = acknowledged.map { Self.distance(first.sequence, $0) >= 0 } ?? false
            guard acknowledgedPast || pendingBytes > maxPendingBytes || pending.count > maxPendingSegments else { break }
            skip(to: first.sequence, from: next, into: &out)
            drain(into: &out)
        }
        if !isFinished, let ack = acknowledged, let fin = finSequence, let next = nextSequence,
           pending.isEmpty, Self.distance(fin, ack) > 0, Self.distance(next, fin) > 0 {
            // The FIN itself was acknowledged: the bytes before it are not coming.
            skip(to: fin, from: next, into: &out)
            finishIfDue(into: &out)
        }
    }
}
