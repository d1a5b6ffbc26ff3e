import CISAL

/// gzip (RFC 1952) through Intel ISA-L's igzip: the `Content-Encoding:
/// gzip` every OTLP/HTTP receiver must accept. One call per body: OTLP
/// batches are a few hundred kilobytes at most, and compressing them whole
/// gives the compressor the most repetition to find (attribute keys,
/// resource and scope, ids). At level 1, igzip takes about a quarter of
/// libdeflate's fastest level's CPU time on a batch of spans for a body 4%
/// larger (bench/OTLPEncodeBenchmark): 130 against 550 ns per span.
///
/// A compressor is kept from body to body (its stream state and level
/// buffer are a few hundred kilobytes, more than compressing a small body
/// costs to set up) and is not thread-safe: its owner (the sink, under its
/// lock) uses it from one thread at a time.
public final class Gzip {
    /// igzip's stream (80 kB: used through the pointer, never copied).
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let level: UInt32
    private let levelBuffer: UnsafeMutableRawBufferPointer
    /// Where a body is compressed before it is copied out at its own size;
    /// it grows when a body does not fit, and only the pages the output
    /// touches are ever made resident.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// `level`: 0 (fastest) to 3 (smallest). 1 is the default: spans'
    /// repeated keys compress nearly as well as at 3, for a fifth of its time.
    public init(level: Int32 = 1) {
        precondition((0...3).contains(level), "igzip levels are 0 to 3, not \(level)")
        self.level = UInt32(level)
        levelBuffer = .allocate(byteCount: max(1, Int(pipetrace_isal_level_buffer_size(level))), alignment: 64)
        stream = .allocate(capacity: 1)
    }

    deinit {
        stream.deallocate()
        levelBuffer.deallocate()
        scratch.deallocate()
    }

    /// `input` gzipped, after `prefix` (bytes the caller puts before it), so it is not copied again.
    public func compress(_ input: [UInt8], after prefix: [UInt8] = []) -> [UInt8] {
        compress([input[...]], after: prefix)
    }

    /// `pieces` joined, gzipped, after `prefix`: a request that lies in
    /// several buffers (`OTLPEncoder.EncodedRequest`) is compressed from
    /// where it lies, never joined into one first.
    public func compress(_ pieces: [ArraySlice<UInt8>], after prefix: [UInt8] = []) -> [UInt8] {
        isal_deflate_init(stream)
        stream.pointee.level = level
        stream.pointee.level_buf = levelBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.level_buf_size = level == 0 ? 0 : UInt32(levelBuffer.count)
        stream.pointee.gzip_flag = UInt16(IGZIP_GZIP)
        stream.pointee.end_of_stream = 0
        stream.pointee.flush = UInt16(NO_FLUSH)
        // Room for the input stored as it is, so the output nearly never grows.
        let total = pieces.reduce(0) { $0 + $1.count }
        if scratch.count < total + total / 64 + 1024 { grow(to: total + total / 64 + 1024, keeping: 0) }
        for piece in pieces where !piece.isEmpty {
            piece.withUnsafeBufferPointer { deflate($0, last: false) }
        }
        deflate(UnsafeBufferPointer(start: nil, count: 0), last: true)
        let count = Int(stream.pointee.total_out)
        return [UInt8](unsafeUninitializedCapacity: prefix.count + count) { out, initialized in
            _ = out.initialize(from: prefix)
            UnsafeMutableRawPointer(out.baseAddress! + prefix.count).copyMemory(from: scratch.baseAddress!, byteCount: count)
            initialized = prefix.count + count
        }
    }

    /// Feeds `input` to the stream, growing the output while it does not
    /// fit; the `last` call ends the stream (gzip trailer included).
    private func deflate(_ input: UnsafeBufferPointer<UInt8>, last: Bool) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.end_of_stream = last ? 1 : 0
        while true {
            let written = Int(stream.pointee.total_out), pending = stream.pointee.avail_in
            stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + written
            stream.pointee.avail_out = UInt32(scratch.count - written)
            let status = isal_deflate(stream)
            // The only errors are a wrong level, buffer or flag: this code's, never the data's.
            precondition(status == COMP_OK, "isal_deflate: error \(status)")
            if last ? pipetrace_isal_finished(stream) != 0 : stream.pointee.avail_in == 0 { return }
            // Stopped short: the output is full (or too nearly full to go on).
            if stream.pointee.avail_out == 0 || (stream.pointee.avail_in == pending && Int(stream.pointee.total_out) == written) {
                grow(to: scratch.count * 2, keeping: Int(stream.pointee.total_out))
            }
        }
    }

    private func grow(to size: Int, keeping count: Int) {
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        if count > 0 { larger.baseAddress!.copyMemory(from: scratch.baseAddress!, byteCount: count) }
        scratch.deallocate()
        scratch = larger
    }

    /// One body with a compressor of its own (tests, one-off bodies).
    public static func compress(_ input: [UInt8], level: Int32 = 1, after prefix: [UInt8] = []) -> [UInt8] {
        Gzip(level: level).compress(input, after: prefix)
    }
}
