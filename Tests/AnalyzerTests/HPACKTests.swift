@testable import Analyzer
import Testing

@Suite("HPACK")
struct HPACKTests {
    static func hex(_ s: String) -> [UInt8] {
        let digits = Array(s.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    static func pairs(_ fields: [HPACKDecoder.Field]) -> [String] {
        fields.map { "\($0.name ?? "?"): \($0.value ?? "?")" }
    }

    @Test("RFC 7541 C.4: three Huffman-coded requests decode, the later ones through the dynamic table")
    func rfcHuffmanRequests() throws {
        var decoder = HPACKDecoder(isComplete: true)
        #expect(Self.pairs(try decoder.decode(Self.hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")[...]))
                == [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"])
        #expect(Self.pairs(try decoder.decode(Self.hex("8286 84be 5886 a8eb 1064 9cbf")[...]))
                == [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"])
        #expect(Self.pairs(try decoder.decode(Self.hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")[...]))
                == [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com",
                    "custom-key: custom-value"])
    }

    @Test("RFC 7541 C.3: the same requests without Huffman coding")
    func rfcPlainRequests() throws {
        var decoder = HPACKDecoder(isComplete: true)
        _ = try decoder.decode(Self.hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")[...])
        #expect(Self.pairs(try decoder.decode(Self.hex("8286 84be 5808 6e6f 2d63 6163 6865")[...]))
                == [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"])
    }

    @Test("attached mid-connection, an index into the unknown part of the table is unknown; entries inserted since are known")
    func unknownAfterAttach() throws {
        var decoder = HPACKDecoder(isComplete: false)
        // C.4.2 refers to index 62, inserted by C.4.1, which this decoder never saw.
        #expect(Self.pairs(try decoder.decode(Self.hex("8286 84be 5886 a8eb 1064 9cbf")[...]))
                == [":method: GET", ":scheme: http", ":path: /", "?: ?", "cache-control: no-cache"])
        // cache-control was inserted after attach: index 62 is now known to be it.
        #expect(Self.pairs(try decoder.decode(Self.hex("be")[...])) == ["cache-control: no-cache"])
        #expect(Self.pairs(try decoder.decode(Self.hex("bf")[...])) == ["?: ?"])
    }

    @Test("a decoder that saw the connection from its start rejects an index beyond its table")
    func indexBeyondTable() {
        var decoder = HPACKDecoder(isComplete: true)
        #expect(throws: HPACKError.self) { try decoder.decode(Self.hex("be")[...]) }
    }

    @Test("the table holds at most its bound: an encoder's larger table makes its old entries unknown, not wrong")
    func boundedTable() throws {
        var decoder = HPACKDecoder(maxTableSize: 100, isComplete: true)
        // Size update to 4096 (> bound), then two 70-byte entries: only the newest fits in 100 bytes.
        let update: [UInt8] = H2.integer(4096, prefixBits: 5, flags: 0x20)
        let a = H2.literal("aaaa", String(repeating: "x", count: 34), indexed: true)
        let b = H2.literal("bbbb", String(repeating: "y", count: 34), indexed: true)
        _ = try decoder.decode((update + a + b)[...])
        #expect(Self.pairs(try decoder.decode(H2.indexed(62)[...])) == ["bbbb: " + String(repeating: "y", count: 34)])
        #expect(Self.pairs(try decoder.decode(H2.indexed(63)[...])) == ["?: ?"])
    }

    @Test("Huffman padding that is not the EOS prefix, or longer than 7 bits, is an error", arguments: [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 fe", // last byte's padding not all ones
        "8286 8441 8df1 e3c2 e5f2 3a6b a0ab 90f4 ffff", // a whole byte of padding
    ])
    func badPadding(_ block: String) {
        var decoder = HPACKDecoder(isComplete: true)
        #expect(throws: HPACKError.self) { try decoder.decode(Self.hex(block)[...]) }
    }

    /// bench/fuzz's ParserFuzzer found it: nine 0x80 continuations put a digit at bit 63.
    @Test("an integer with a run of empty continuation bytes is too large, not a negative string length")
    func longIntegerContinuation() {
        // A literal header field without indexing, new name: its name's length is 0x7f, then ten continuation bytes.
        let block: [UInt8] = [0x00, 0x7f] + [UInt8](repeating: 0x80, count: 9) + [0x01, 0x61]
        var decoder = HPACKDecoder(isComplete: true)
        #expect(throws: HPACKError.self) { try decoder.decode(block[...]) }
    }

    @Test("truncated blocks throw instead of trapping")
    func truncated() {
        let full = Self.hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")
        for n in 4..<full.count { // inside the literal :authority
            var decoder = HPACKDecoder(isComplete: true)
            #expect(throws: HPACKError.self) { try decoder.decode(full.prefix(n)) }
        }
    }
}
