import CZlib

/// gzip (RFC 1952) through zlib: the `Content-Encoding: gzip` every
/// OTLP/HTTP receiver must accept. One call per body: OTLP batches are a
/// few hundred kilobytes at most, and compressing them whole gives zlib the
/// most repetition to find (attribute keys, resource and scope, ids).
public enum Gzip {
    /// `level`: 1 (fastest) to 9 (smallest). 1 is the default: the spans'
    /// repeated keys compress well at any level, and the exporter must stay cheap.
    public static func compress(_ input: [UInt8], level: Int32 = 1) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
        defer { deflateEnd(&stream) }
        // deflateBound leaves out the gzip header and trailer beyond zlib's own 6 bytes.
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        var input = input
        let written = input.withUnsafeMutableBytes { src in
            out.withUnsafeMutableBytes { dst -> Int in
                stream.next_in = src.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(dst.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "deflate with an output of its own bound failed: \(result)")
                return dst.count - Int(stream.avail_out)
            }
        }
        out.removeLast(out.count - written)
        return out
    }
}
