import CSnappy

/// Snappy's block format (not the framed one), as remote write requires:
/// libsnappy's C API.
public enum Snappy {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var out = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                                dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        precondition(status == SNAPPY_OK, "snappy_compress failed with an output of its own maximum size")
        out.removeLast(out.count - length)
        return out
    }

    public static func uncompress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        var length = 0
        let sized = input.withUnsafeBytes {
            snappy_uncompressed_length($0.baseAddress?.assumingMemoryBound(to: CChar.self), input.count, &length)
        }
        guard sized == SNAPPY_OK else { throw Failure(description: "not snappy data (bad length header)") }
        var out = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                snappy_uncompress(src.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                                  dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        guard status == SNAPPY_OK else { throw Failure(description: "corrupt snappy data") }
        return out
    }
}
