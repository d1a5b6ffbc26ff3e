/// HTML bytes with no way to write text unescaped: markup is a
/// `StaticString` (written in this library's source), everything else
/// (record fields, which are attacker-controlled, and the numbers made from
/// them) goes through `text`, which escapes the five characters that could
/// end an element, an attribute or an entity. The same escape is right in
/// text and in double-quoted attribute values, the only two places text goes.
struct HTMLWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Markup from this library's own source.
    mutating func raw(_ markup: StaticString) {
        markup.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Text or an attribute value, escaped.
    mutating func text(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "&"): append("&amp;")
            case UInt8(ascii: "<"): append("&lt;")
            case UInt8(ascii: ">"): append("&gt;")
            case UInt8(ascii: "\""): append("&quot;")
            case UInt8(ascii: "'"): append("&#39;")
            // A NUL is not allowed in HTML text; the replacement character stands for it.
            case 0: append("\u{FFFD}")
            default: bytes.append(byte)
            }
        }
    }

    /// A number as SVG coordinates want it: at most one decimal.
    mutating func number(_ value: Double) {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e15 else { return append("0") }
        let whole = Int64(tenths)
        if whole < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = whole.magnitude
        append(String(magnitude / 10))
        if magnitude % 10 != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        }
    }

    mutating func number(_ value: Int) { append(String(value)) }

    /// An element with escaped text content: `<tag class="…">text</tag>`
    /// (`open` is the opening tag as markup, e.g. `<td class="n">`).
    mutating func element(_ open: StaticString, _ content: String, _ close: StaticString) {
        raw(open)
        text(content)
        raw(close)
    }

    /// Bytes known to need no escape (digits, the escapes themselves).
    private mutating func append(_ safe: String) {
        bytes.append(contentsOf: safe.utf8)
    }
}
