/// Builds one JSON object as text, fast: the per-event and per-record output
/// path, where Foundation's encoders would cost more than the work itself.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject(_ key: String? = nil) {
        if let key { writeKey(key) } else { comma() }
        bytes.append(UInt8(ascii: "{"))
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

    public mutating func field<T: BinaryInteger>(_ key: String, _ value: T?) {
        writeKey(key)
        if let value { bytes.append(contentsOf: String(value).utf8) } else { writeNull() }
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
        let hex = Array("0123456789abcdef".utf8)
        for b in payload {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5c, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: bytes.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case 0x0d: bytes.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0x20..<0x7f: bytes.append(b)
            default:
                // A literal backslash, then xNN: two JSON characters "\\" + "xNN".
                bytes.append(contentsOf: [0x5c, 0x5c, UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 0xf)]])
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func writeKey(_ key: String) {
        comma()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func writeNull() {
        bytes.append(contentsOf: "null".utf8)
    }

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5c, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: bytes.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case 0x0d: bytes.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5c, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xf)]])
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
