/// Builds one JSON object as text, fast: the per-event and per-record output
/// path, where Foundation's encoders would cost more than the work itself.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Empties the writer for the next object, keeping its memory (one writer per output line costs no allocation).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func beginObject(_ key: String? = nil) {
        if let key { writeKey(key) } else { comma() }
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Ends a JSON line.
    public mutating func newline() {
        bytes.append(0x0a)
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray(_ key: String) {
        writeKey(key)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: String?) {
        writeKey(key)
        if let value { writeString(value) } else { writeNull() }
    }

    public mutating func field(_ key: String, _ value: UInt64?) {
        writeKey(key)
        if let value { appendDigits(value) } else { writeNull() }
    }

    public mutating func field(_ key: String, _ value: Int64?) {
        writeKey(key)
        guard let value else { writeNull(); return }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
    }

    /// A number as the next element of an array.
    public mutating func element(_ value: Int64) {
        comma()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
    }

    public mutating func field(_ key: String, _ value: Int?) { field(key, value.map(Int64.init)) }
    public mutating func field(_ key: String, _ value: Int32?) { field(key, value.map(Int64.init)) }
    public mutating func field(_ key: String, _ value: UInt32?) { field(key, value.map(UInt64.init)) }
    public mutating func field(_ key: String, _ value: UInt16?) { field(key, value.map(UInt64.init)) }

    /// An endpoint as text ("10.0.0.1:80", "[::1]:80"), written without intermediate strings.
    public mutating func field(_ key: String, endpoint: Endpoint) {
        writeKey(key)
        bytes.append(UInt8(ascii: "\""))
        let a = endpoint.address
        if a.isIPv4 {
            let value = a.ipv4Value
            for shift: UInt32 in [24, 16, 8, 0] {
                if shift != 24 { bytes.append(UInt8(ascii: ".")) }
                appendDigits(UInt64(value >> shift & 0xff))
            }
        } else {
            bytes.append(UInt8(ascii: "["))
            bytes.append(contentsOf: a.description.utf8)
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt64(endpoint.port))
        bytes.append(UInt8(ascii: "\""))
    }

    /// A time as RFC 3339 UTC with nanoseconds, written digit by digit.
    public mutating func field(_ key: String, unixNanoseconds ns: Int64) {
        writeKey(key)
        let t = CivilTime(unixNanoseconds: ns)
        bytes.append(UInt8(ascii: "\""))
        appendPadded(UInt64(t.year), 4); bytes.append(UInt8(ascii: "-"))
        appendPadded(UInt64(t.month), 2); bytes.append(UInt8(ascii: "-"))
        appendPadded(UInt64(t.day), 2); bytes.append(UInt8(ascii: "T"))
        appendPadded(UInt64(t.hour), 2); bytes.append(UInt8(ascii: ":"))
        appendPadded(UInt64(t.minute), 2); bytes.append(UInt8(ascii: ":"))
        appendPadded(UInt64(t.second), 2); bytes.append(UInt8(ascii: "."))
        appendPadded(UInt64(t.nanosecond), 9)
        bytes.append(contentsOf: [UInt8(ascii: "Z"), UInt8(ascii: "\"")])
    }

    public mutating func field(_ key: String, _ value: Bool) {
        writeKey(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A number with up to `decimals` digits after the point (milliseconds and the like).
    public mutating func field(_ key: String, _ value: Double?, decimals: Int = 3) {
        writeKey(key)
        guard let value, value.isFinite else { writeNull(); return }
        bytes.append(contentsOf: JSONWriter.format(value, decimals: decimals).utf8)
    }

    /// A value already encoded as JSON (a nested object written elsewhere).
    public mutating func rawField(_ key: String, _ json: [UInt8]) {
        writeKey(key)
        bytes.append(contentsOf: json)
    }

    /// Payload bytes as text: printable ASCII as is, everything else escaped
    /// (`\r`, `\n`, `\t`, or `\xNN`), like `tcpdump -A` but lossless, so that
    /// `grep 'GET /metrics'` finds requests in the output.
    public mutating func payloadField(_ key: String, _ payload: [UInt8]) {
        writeKey(key)
        bytes.append(UInt8(ascii: "\""))
        payload.withUnsafeBufferPointer { p in
            // Two passes: the escaped size, then every byte straight into place
            // (one append per run between escapes cost more than the escaping).
            var size = p.count
            JSONWriter.forEachEscape(in: p) { _, b in size += JSONWriter.escapedExtra(b) }
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: size))
            bytes.withUnsafeMutableBufferPointer { out in
                var o = start, run = 0 // run: start of the bytes not yet copied
                func copyRun(to end: Int) {
                    guard run < end else { return }
                    UnsafeMutableRawPointer(out.baseAddress! + o).copyMemory(from: p.baseAddress! + run, byteCount: end - run)
                    o += end - run
                }
                func put(_ c: UInt8) { out[o] = c; o += 1 }
                JSONWriter.forEachEscape(in: p) { i, b in
                    copyRun(to: i)
                    run = i + 1
                    put(0x5c)
                    switch b {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(b)
                    case 0x0a: put(UInt8(ascii: "n"))
                    case 0x0d: put(UInt8(ascii: "r"))
                    case 0x09: put(UInt8(ascii: "t"))
                    default:
                        // A literal backslash, then xNN: two JSON characters "\\" + "xNN".
                        put(0x5c); put(UInt8(ascii: "x")); put(JSONWriter.hex(b >> 4)); put(JSONWriter.hex(b & 0xf))
                    }
                }
                copyRun(to: p.count)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Calls `body` with the index and value of each byte that payload text
    /// escapes, in order, eight bytes at a time: most words have none.
    private static func forEachEscape(in p: UnsafeBufferPointer<UInt8>, _ body: (Int, UInt8) -> Void) {
        var i = 0
        while i + 8 <= p.count {
            var mask = escapeMask(UInt64(littleEndian: UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self)))
            while mask != 0 {
                let at = i + mask.trailingZeroBitCount / 8
                body(at, p[at])
                mask &= mask &- 1
            }
            i += 8
        }
        while i < p.count {
            if needsEscape(p[i]) { body(i, p[i]) }
            i += 1
        }
    }

    /// `needsEscape` for eight bytes at once: 0x80 in the place of each byte
    /// that needs it. Exact per byte, as no sum carries into the next byte.
    private static func escapeMask(_ x: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7f7f_7f7f_7f7f_7f7f, highs: UInt64 = 0x8080_8080_8080_8080, ones: UInt64 = 0x0101_0101_0101_0101
        func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v | low7) }
        // A byte below 0x80 reaches 0x80 when 0x60 is added to it only if it is 0x20 or more.
        let control = ~(((x & low7) &+ ones &* 0x60) | x) & highs
        return control | (x & highs) | zeroBytes(x ^ (ones &* 0x22)) | zeroBytes(x ^ (ones &* 0x5c)) | zeroBytes(x ^ (ones &* 0x7f))
    }

    /// How many more bytes `b` takes escaped than as is.
    private static func escapedExtra(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0a, 0x0d, 0x09: 1
        default: 4
        }
    }

    /// Whether payload text escapes `b`: controls, DEL and above, quote, backslash.
    private static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b >= 0x7f || b == 0x22 || b == 0x5c
    }

    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x57 + nibble
    }

    private mutating func appendDigits(_ value: UInt64) {
        if value < 10 { bytes.append(0x30 + UInt8(value)); return }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) // 32 bytes of room: UInt64 has at most 20 digits
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { room in
            while v > 0 {
                room[31 - count] = 0x30 + UInt8(v % 10)
                v /= 10
                count += 1
            }
            bytes.append(contentsOf: room[(32 - count)...])
        }
    }

    private mutating func appendPadded(_ value: UInt64, _ width: Int) {
        var digits = 1, v = value
        while v >= 10 { v /= 10; digits += 1 }
        for _ in digits..<max(digits, width) { bytes.append(0x30) }
        appendDigits(value)
    }

    private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    /// Keys are the program's own names: written as they are, not escaped.
    private mutating func writeKey(_ key: String) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        // Literal keys are contiguous UTF-8: one copy, no per-character walk.
        if key.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: key.utf8)
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func writeNull() {
        bytes.append(contentsOf: "null".utf8)
    }

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        let plain = s.utf8.withContiguousStorageIfAvailable { u in
            !u.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }
        } ?? false
        if plain {
            if s.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
                bytes.append(contentsOf: s.utf8)
            }
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5c, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: bytes.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case 0x0d: bytes.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: [0x5c, UInt8(ascii: "u"), 0x30, 0x30, JSONWriter.hex(b >> 4), JSONWriter.hex(b & 0xf)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Fixed-point text without Foundation; trailing zeros trimmed.
    static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let n = UInt64(scaled)
        let whole = n / UInt64(scale)
        var frac = String(n % UInt64(scale))
        frac = String(repeating: "0", count: max(0, decimals - frac.count)) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        let sign = value < 0 && n != 0 ? "-" : ""
        return frac.isEmpty ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
    }
}
