import CLibDeflate

/// gzip (RFC 1952) through libdeflate: the `Content-Encoding: gzip` every
/// OTLP/HTTP receiver must accept. One call per body: OTLP batches are a
/// few hundred kilobytes at most, and compressing them whole gives the
/// compressor the most repetition to find (attribute keys, resource and
/// scope, ids). libdeflate compresses a whole buffer at once, about twice
/// as fast as zlib's streaming deflate at the same level
/// (bench/OTLPEncodeBenchmark).
///
/// A compressor is kept from body to body (allocating one per body costs
/// more than compressing a small one) and is not thread-safe: its owner
/// (the sink, under its lock) uses it from one thread at a time.
public final class Gzip {
    private let compressor: OpaquePointer
    /// Where a body is compressed before it is copied out at its own size:
    /// the worst case (`libdeflate_gzip_compress_bound`) is larger than the
    /// input, and only the pages the output touches are ever made resident.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// `level`: 1 (fastest) to 12 (smallest). 1 is the default: the spans'
    /// repeated keys compress well at any level, and the exporter must stay cheap.
    public init(level: Int32 = 1) {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            preconditionFailure("libdeflate_alloc_compressor(\(level)): out of memory or no such level")
        }
        self.compressor = compressor
    }

    deinit {
        libdeflate_free_compressor(compressor)
        scratch.deallocate()
    }

    /// `input` gzipped, after `prefix` (bytes the caller puts before it), so it is not copied again.
    public func compress(_ input: [UInt8], after prefix: [UInt8] = []) -> [UInt8] {
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        if scratch.count < bound {
            scratch.deallocate()
            scratch = .allocate(byteCount: bound, alignment: 16)
        }
        let count = input.withUnsafeBytes { src in
            libdeflate_gzip_compress(compressor, src.baseAddress, src.count, scratch.baseAddress, scratch.count)
        }
        // The bound is the worst case: a 0 (did not fit) cannot happen.
        precondition(count > 0, "libdeflate_gzip_compress: output larger than its bound")
        return [UInt8](unsafeUninitializedCapacity: prefix.count + count) { out, initialized in
            _ = out.initialize(from: prefix)
            UnsafeMutableRawPointer(out.baseAddress! + prefix.count).copyMemory(from: scratch.baseAddress!, byteCount: count)
            initialized = prefix.count + count
        }
    }

    /// One body with a compressor of its own (tests, one-off bodies).
    public static func compress(_ input: [UInt8], level: Int32 = 1, after prefix: [UInt8] = []) -> [UInt8] {
        Gzip(level: level).compress(input, after: prefix)
    }
}
