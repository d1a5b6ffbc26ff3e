import CZlib

/// gzip (RFC 1952) through zlib: the `Content-Encoding: gzip` every
/// OTLP/HTTP receiver must accept. One call per body: OTLP batches are a
/// few hundred kilobytes at most, and compressing them whole gives zlib the
/// most repetition to find (attribute keys, resource and scope, ids).
public enum Gzip {
    /// `level`: 1 (fastest) to 9 (smallest). 1 is the default: the spans'
    /// repeated keys compress well at any level, and the exporter must stay cheap.
    /// The result follows `prefix` (bytes the caller puts before it), so it is not copied again.
    public static func compress(_ input: [UInt8], level: Int32 = 1, after prefix: [UInt8] = []) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
        defer { deflateEnd(&stream) }
        // Deflated through a 64 kB window onto `prefix`: the result takes only
        // the memory it needs (it may wait long in a queue), and no buffer of the
        // input's size is made (and page-faulted in) for every body.
        var out = prefix
        out.reserveCapacity(prefix.count + input.count / 8)
        withUnsafeTemporaryAllocation(of: Bytef.self, capacity: 65_536) { chunk in
            input.withUnsafeBytes { src in
                // zlib only reads next_in (it is `z_const`): the caller's array is not written.
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(src.count)
                var result = Z_OK
                while result != Z_STREAM_END {
                    stream.next_out = chunk.baseAddress
                    stream.avail_out = uInt(chunk.count)
                    result = deflate(&stream, Z_FINISH)
                    precondition(result == Z_OK || result == Z_STREAM_END, "deflate failed: \(result)")
                    out.append(contentsOf: chunk[..<(chunk.count - Int(stream.avail_out))])
                }
            }
        }
        return out
    }
}
