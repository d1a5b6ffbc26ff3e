/// HPACK (RFC 7541): decodes the header blocks one end of an HTTP/2
/// connection sends, keeping that direction's dynamic table.
///
/// Bounded: the table holds at most `maxTableSize` bytes (entry sizes as
/// RFC 7541 §4.1 counts them), whatever the encoder asks; a block at most
/// `HTTP2Parser.maxHeaderBlock` bytes. When the table's older entries are
/// not known (the probe attached mid-connection, or a block was lost to
/// uncaptured bytes or a larger table than the bound), an index into them
/// decodes as an unknown field, never as a wrong one: entries are numbered
/// from the newest, and every entry inserted since is known.
struct HPACKDecoder: Sendable {
    /// One decoded field; nil name or value: it came from the unknown part of the table.
    struct Field: Sendable, Hashable {
        var name: String?
        var value: String?
    }

    /// Default bound on a table: the peer-advertised size up to this.
    static let defaultMaxTableSize = 64 * 1024

    /// Newest last.
    private var entries: [(name: String, value: String)] = []
    private var size = 0
    /// The encoder's current maximum (4096 until it sends a size update, RFC 9113 §6.5.2).
    private var encoderMaxSize = 4096
    let maxTableSize: Int
    /// Every entry the encoder's table holds is in `entries`.
    private(set) var isComplete: Bool

    init(maxTableSize: Int = defaultMaxTableSize, isComplete: Bool) {
        self.maxTableSize = maxTableSize
        self.isComplete = isComplete
    }

    /// A block could not be decoded: entries it inserted are unknown, and so are their positions.
    mutating func lose() {
        entries.removeAll()
        size = 0
        isComplete = false
    }

    /// The fields of one complete header block, in order. Throws on a block
    /// that breaks RFC 7541 (the table is then lost too).
    mutating func decode(_ block: ArraySlice<UInt8>) throws(HPACKError) -> [Field] {
        var fields: [Field] = []
        var i = block.startIndex
        do throws(HPACKError) {
            while i < block.endIndex {
                let b = block[i]
                if b & 0x80 != 0 {
                    let index = try Self.integer(block, &i, prefixBits: 7)
                    guard index > 0 else { throw .invalid("index 0") }
                    fields.append(try field(at: index))
                } else if b & 0xC0 == 0x40 {
                    let f = try literal(block, &i, prefixBits: 6)
                    if let name = f.name, let value = f.value {
                        insert(name, value)
                    } else {
                        // An entry whose name is unknown: its size is too, so positions after it are.
                        lose()
                    }
                    fields.append(f)
                } else if b & 0xE0 == 0x20 {
                    let newSize = try Self.integer(block, &i, prefixBits: 5)
                    encoderMaxSize = newSize
                    if newSize > maxTableSize { isComplete = false }
                    evict(to: min(newSize, maxTableSize))
                } else {
                    fields.append(try literal(block, &i, prefixBits: 4)) // without indexing, or never indexed
                }
                guard fields.count <= Self.maxFields else { throw .invalid("more than \(Self.maxFields) fields") }
            }
        } catch {
            lose()
            throw error
        }
        return fields
    }

    static let maxFields = 1024

    private func field(at index: Int) throws(HPACKError) -> Field {
        if index <= Self.staticTable.count {
            let entry = Self.staticTable[index - 1]
            return Field(name: entry.0, value: entry.1)
        }
        let position = index - Self.staticTable.count
        if position <= entries.count {
            let entry = entries[entries.count - position]
            return Field(name: entry.name, value: entry.value)
        }
        guard !isComplete else { throw .invalid("index \(index) beyond the dynamic table") }
        return Field(name: nil, value: nil)
    }

    private func literal(_ block: ArraySlice<UInt8>, _ i: inout Int, prefixBits: Int) throws(HPACKError) -> Field {
        let nameIndex = try Self.integer(block, &i, prefixBits: prefixBits)
        let name: String? = nameIndex == 0 ? try Self.string(block, &i) : try field(at: nameIndex).name
        return Field(name: name, value: try Self.string(block, &i))
    }

    private mutating func insert(_ name: String, _ value: String) {
        let entrySize = name.utf8.count + value.utf8.count + 32
        let limit = min(encoderMaxSize, maxTableSize)
        guard entrySize <= limit else {
            // RFC 7541 §4.4: an entry larger than the table empties it. Past our bound only, the encoder keeps it.
            entries.removeAll()
            size = 0
            if entrySize <= encoderMaxSize { isComplete = false }
            return
        }
        evict(to: limit - entrySize)
        entries.append((name, value))
        size += entrySize
    }

    private mutating func evict(to limit: Int) {
        var drop = 0
        while size > limit, drop < entries.count {
            size -= entries[drop].name.utf8.count + entries[drop].value.utf8.count + 32
            drop += 1
        }
        if drop > 0 { entries.removeFirst(drop) }
    }

    /// An integer with an N-bit prefix (RFC 7541 §5.1), bounded to 2^28.
    static func integer(_ block: ArraySlice<UInt8>, _ i: inout Int, prefixBits: Int) throws(HPACKError) -> Int {
        guard i < block.endIndex else { throw .truncated }
        let mask = (1 << prefixBits) - 1
        var value = Int(block[i]) & mask
        i += 1
        guard value == mask else { return value }
        var shift = 0
        while true {
            guard i < block.endIndex else { throw .truncated }
            let b = block[i]
            i += 1
            // Past 2^28 either way: without this, continuation bytes of 0x80 shifted a digit to
            // bit 63 and made the value (a string's length) negative.
            guard shift <= 21 else { throw .invalid("integer too large") }
            value += Int(b & 0x7F) << shift
            shift += 7
            guard value < 1 << 28 else { throw .invalid("integer too large") }
            if b & 0x80 == 0 { return value }
        }
    }

    /// A string literal (RFC 7541 §5.2), Huffman-coded or raw.
    static func string(_ block: ArraySlice<UInt8>, _ i: inout Int) throws(HPACKError) -> String {
        guard i < block.endIndex else { throw .truncated }
        let huffman = block[i] & 0x80 != 0
        let length = try integer(block, &i, prefixBits: 7)
        guard length <= block.endIndex - i else { throw .truncated }
        let bytes = block[i..<(i + length)]
        i += length
        if !huffman { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: try Huffman.decode(bytes), as: UTF8.self)
    }

    static let staticTable: [(String, String)] = [
        (":authority", ""),
        (":method", "GET"),
        (":method", "POST"),
        (":path", "/"),
        (":path", "/index.html"),
        (":scheme", "http"),
        (":scheme", "https"),
        (":status", "200"),
        (":status", "204"),
        (":status", "206"),
        (":status", "304"),
        (":status", "400"),
        (":status", "404"),
        (":status", "500"),
        ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"),
        ("accept-language", ""),
        ("accept-ranges", ""),
        ("accept", ""),
        ("access-control-allow-origin", ""),
        ("age", ""),
        ("allow", ""),
        ("authorization", ""),
        ("cache-control", ""),
        ("content-disposition", ""),
        ("content-encoding", ""),
        ("content-language", ""),
        ("content-length", ""),
        ("content-location", ""),
        ("content-range", ""),
        ("content-type", ""),
        ("cookie", ""),
        ("date", ""),
        ("etag", ""),
        ("expect", ""),
        ("expires", ""),
        ("from", ""),
        ("host", ""),
        ("if-match", ""),
        ("if-modified-since", ""),
        ("if-none-match", ""),
        ("if-range", ""),
        ("if-unmodified-since", ""),
        ("last-modified", ""),
        ("link", ""),
        ("location", ""),
        ("max-forwards", ""),
        ("proxy-authenticate", ""),
        ("proxy-authorization", ""),
        ("range", ""),
        ("referer", ""),
        ("refresh", ""),
        ("retry-after", ""),
        ("server", ""),
        ("set-cookie", ""),
        ("strict-transport-security", ""),
        ("transfer-encoding", ""),
        ("user-agent", ""),
        ("vary", ""),
        ("via", ""),
        ("www-authenticate", ""),
    ]
}

enum HPACKError: Error, Sendable, Hashable {
    case truncated
    case invalid(String)
}

/// The canonical Huffman code of RFC 7541 Appendix B, from its code lengths:
/// codes of one length are consecutive, in symbol order, and follow the
/// shorter ones.
enum Huffman {
    /// Code length in bits of symbols 0...256 (256 is EOS).
    static let lengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ]

    /// Per length: the first code, how many codes, and where its symbols start in `symbols`.
    struct Table: Sendable {
        var first = [UInt32](repeating: 0, count: 31)
        var count = [UInt32](repeating: 0, count: 31)
        var offset = [Int](repeating: 0, count: 31)
        var symbols: [UInt16] = []
    }

    static let table: Table = {
        var t = Table()
        t.symbols = (0...256).map(UInt16.init).sorted { (lengths[Int($0)], $0) < (lengths[Int($1)], $1) }
        for l in lengths { t.count[Int(l)] += 1 }
        var code: UInt32 = 0
        var offset = 0
        for length in 1...30 {
            t.first[length] = code
            t.offset[length] = offset
            offset += Int(t.count[length])
            code = (code + t.count[length]) << 1
        }
        return t
    }()

    static func decode(_ bytes: ArraySlice<UInt8>) throws(HPACKError) -> [UInt8] {
        let t = table
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 8 / 5)
        var code: UInt32 = 0
        var length = 0
        var ones = true // the bits since the last symbol are all 1s (valid padding)
        for byte in bytes {
            for shift in stride(from: 7, through: 0, by: -1) {
                let bit = UInt32(byte >> UInt8(shift)) & 1
                code = code << 1 | bit
                length += 1
                ones = ones && bit == 1
                guard length <= 30 else { throw .invalid("Huffman code longer than 30 bits") }
                let index = code &- t.first[length]
                if code >= t.first[length] && index < t.count[length] {
                    let symbol = t.symbols[t.offset[length] + Int(index)]
                    guard symbol < 256 else { throw .invalid("Huffman EOS in a string") }
                    out.append(UInt8(symbol))
                    code = 0
                    length = 0
                    ones = true
                }
            }
        }
        // RFC 7541 §5.2: at most 7 bits of padding, all 1s (the EOS prefix).
        guard length <= 7 && ones else { throw .invalid("bad Huffman padding") }
        return out
    }
}
