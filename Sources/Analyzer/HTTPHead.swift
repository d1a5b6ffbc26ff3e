import Events

/// pipetrace's one HTTP/1 head grammar (RFC 9112): the start line and the
/// headers that framing and records need, parsed from the bytes up to the
/// empty line. Header names compare case-insensitively; anything outside
/// the grammar throws. Its users need different parts of it:
///
/// - the analyzer (`HTTP1Parser`): requests and responses, framing, the
///   method and target a record keeps, `Expect` and `Upgrade`;
/// - the exporter's HTTP client: responses only, framing and `keepAlive`;
/// - the /metrics server: the request line only (method and target);
/// - captures (`HTTPPacketHead`): every header in Go's reading, as Tracee
///   shows them; it shares the lexical part here (`nextLine`, `isVersion`,
///   `isTokenByte`, `trimmed`) and keeps its own leniency.
///
/// Limits are the caller's: each bounds the bytes it hands in (a head, a
/// request) to what it is willing to hold.
///
/// The bytes are scanned in place: no line arrays, and no strings but the
/// method and target a record keeps.
public struct HTTPHead: Sendable {
    /// A range of the head's bytes, scanned without copying.
    public typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    public internal(set) var isRequest = false
    public internal(set) var isHTTP10 = false
    /// Request only: the method and the target, as the record shows them.
    public internal(set) var method = ""
    public internal(set) var target = ""
    /// Response only: the status code.
    public internal(set) var status: Int?
    public internal(set) var contentLength: UInt64?
    /// How many transfer codings were listed; `isChunked` if the last is chunked.
    public internal(set) var transferCodings = 0
    public internal(set) var isChunked = false
    var expectsContinue = false
    /// The `Upgrade` header's value, lowercased (a 101 response's new protocol).
    var upgrade: String?
    /// Request only: the method is HEAD, or CONNECT (read from the bytes, not compared as strings).
    var isHEAD = false
    var isCONNECT = false
    /// Whether the `Connection` header is read (`keepAlive`): the HTTP
    /// client's need. The analyzer leaves it unread (a response of every
    /// exchange carries one, and the analyzer sees a close as it happens).
    var readsConnection = false
    /// The `Connection` header lists `close` / `keep-alive`.
    var connectionClose = false
    var connectionKeepAlive = false

    /// Whether the connection may carry another message: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`
    /// (read only when parsed with `readingConnection`).
    public var keepAlive: Bool { isHTTP10 ? connectionKeepAlive : !connectionClose }

    /// Why a head is malformed, as a code: thrown line by line, a
    /// `ProtocolParseError` carried its message string in and out of every
    /// call. Made into one only when a head fails.
    enum Defect: Error, Hashable {
        case empty, badStartLine, badStatusCode, badRequestLine, badMethod, badTarget
        case headerWithoutName, badContentLength, conflictingContentLength

        var error: ProtocolParseError {
            switch self {
            case .empty: .malformed("empty head")
            case .badStartLine: .malformed("bad start line")
            case .badStatusCode: .malformed("bad status code")
            case .badRequestLine: .malformed("bad request line")
            case .badMethod: .malformed("bad method")
            case .badTarget: .malformed("bad target")
            case .headerWithoutName: .malformed("header line without a name")
            case .badContentLength: .malformed("bad Content-Length")
            case .conflictingContentLength: .malformed("conflicting Content-Length")
            }
        }
    }

    public init(_ bytes: ArraySlice<UInt8>, readingConnection: Bool = false) throws(ProtocolParseError) {
        let parsed = bytes.withUnsafeBufferPointer { buffer -> (HTTPHead, Defect?) in
            var head = HTTPHead()
            head.readsConnection = readingConnection
            do throws(Defect) { try head.scan(buffer[...]) } catch { return (head, error) }
            return (head, nil)
        }
        if let defect = parsed.1 { throw defect.error }
        self = parsed.0
    }

    private mutating func scan(_ bytes: Bytes) throws(Defect) {
        var rest = bytes
        guard let startLine = HTTPHead.nextLine(&rest) else { throw .empty }
        try parseStartLine(startLine)
        while let line = HTTPHead.nextLine(&rest) {
            if line.isEmpty { break }
            try parseHeaderLine(line)
        }
    }

    /// An empty head, for `complete(in:into:defect:)` to fill.
    init() {}

    /// A head that ends within `bytes`, parsed into `head` in the same pass
    /// that finds its end (finding the empty line first, then parsing, read
    /// every line twice): the index just past its empty line, with `defect`
    /// saying why the head is malformed if it is. Nil when `bytes` end
    /// before that line, with nothing thrown: the rest of the head may still
    /// come, and the caller buffers it. The caller's head is filled in place:
    /// an optional head (or a `Result`) returned was destroyed through the
    /// runtime's generic witnesses, a visible share of the parser's time.
    static func complete(in bytes: ArraySlice<UInt8>, into head: inout HTTPHead, defect: inout Defect?) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            var failure: Defect?
            var rest = buffer[...]
            // The start line is never the empty line, as when the end is searched for first.
            guard let startLine = HTTPHead.nextCompleteLine(&rest) else { return nil }
            do throws(Defect) { try head.parseStartLine(startLine) } catch { failure = error }
            while let line = HTTPHead.nextCompleteLine(&rest) {
                if line.isEmpty {
                    defect = failure
                    return bytes.startIndex + rest.startIndex
                }
                // Past the first error, lines are only looked through for the end.
                if failure == nil {
                    do throws(Defect) { try head.parseHeaderLine(line) } catch { failure = error }
                }
            }
            return nil
        }
    }

    private static let contentLengthName: StaticString = "content-length"
    private static let transferEncodingName: StaticString = "transfer-encoding"
    private static let expectName: StaticString = "expect"
    private static let upgradeName: StaticString = "upgrade"
    private static let connectionName: StaticString = "connection"

    private mutating func parseHeaderLine(_ line: Bytes) throws(Defect) {
        // obs-fold continuation lines (RFC 9112 §5.2) carry nothing we need.
        if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") { return }
        guard let colon = line.firstIndex(ofByte: UInt8(ascii: ":")), colon > line.startIndex else {
            throw .headerWithoutName
        }
        // Only four names matter (five with `readsConnection`): any other length is none of them, and its value is not looked at.
        let nameLength = colon - line.startIndex
        guard nameLength == Self.contentLengthName.utf8CodeUnitCount || nameLength == Self.transferEncodingName.utf8CodeUnitCount
              || nameLength == Self.expectName.utf8CodeUnitCount || nameLength == Self.upgradeName.utf8CodeUnitCount
              || readsConnection && nameLength == Self.connectionName.utf8CodeUnitCount
        else { return }
        let name = line[line.startIndex..<colon]
        let value = HTTPHead.trimmed(line[(colon + 1)...])
        if HTTPHead.equalsLowercased(name, Self.contentLengthName) {
            let length = try HTTPHead.contentLength(value)
            if let existing = contentLength, existing != length { throw .conflictingContentLength }
            contentLength = length
        } else if HTTPHead.equalsLowercased(name, Self.transferEncodingName) {
            var codings = value
            while let coding = HTTPHead.nextListElement(&codings) {
                let c = HTTPHead.trimmed(coding)
                if c.isEmpty { continue }
                transferCodings += 1
                isChunked = HTTPHead.equalsLowercased(c, "chunked")
            }
        } else if HTTPHead.equalsLowercased(name, Self.expectName) {
            expectsContinue = HTTPHead.equalsLowercased(value, "100-continue")
        } else if HTTPHead.equalsLowercased(name, Self.upgradeName) {
            upgrade = String(decoding: value, as: UTF8.self).lowercased()
        } else if readsConnection && HTTPHead.equalsLowercased(name, Self.connectionName) {
            var options = value
            while let option = HTTPHead.nextListElement(&options) {
                let o = HTTPHead.trimmed(option)
                if HTTPHead.equalsLowercased(o, "close") { connectionClose = true }
                if HTTPHead.equalsLowercased(o, "keep-alive") { connectionKeepAlive = true }
            }
        }
    }

    private mutating func parseStartLine(_ line: Bytes) throws(Defect) {
        // Up to three parts split at single spaces; the third keeps its spaces (a reason phrase).
        guard let firstSpace = line.firstIndex(ofByte: UInt8(ascii: " ")) else { throw .badStartLine }
        let part0 = line[line.startIndex..<firstSpace]
        let afterFirst = line[(firstSpace + 1)...]
        let secondSpace = afterFirst.firstIndex(ofByte: UInt8(ascii: " "))
        let part1 = line[(firstSpace + 1)..<(secondSpace ?? line.endIndex)]
        if HTTPHead.isVersion(part0) {
            guard part1.count == 3, part1.allSatisfy(HTTPHead.isDigit) else { throw .badStatusCode }
            isHTTP10 = part0.last == UInt8(ascii: "0")
            status = part1.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        } else {
            guard let secondSpace, HTTPHead.isVersion(line[(secondSpace + 1)...]) else {
                throw .badRequestLine
            }
            let part2 = line[(secondSpace + 1)...]
            guard !part0.isEmpty, part0.allSatisfy(HTTPHead.isTokenByte) else { throw .badMethod }
            guard !part1.isEmpty, part1.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw .badTarget }
            isRequest = true
            isHTTP10 = part2.last == UInt8(ascii: "0")
            isHEAD = HTTPHead.equals(part0, "HEAD")
            isCONNECT = HTTPHead.equals(part0, "CONNECT")
            method = String(decoding: part0, as: UTF8.self)
            target = String(decoding: part1, as: UTF8.self)
        }
    }

    /// The next line of `rest`, split at LF and without its CR; `rest` moves past it.
    public static func nextLine(_ rest: inout Bytes) -> Bytes? {
        guard !rest.isEmpty else { return nil }
        let end = rest.firstIndex(ofByte: UInt8(ascii: "\n")) ?? rest.endIndex
        var line = rest[rest.startIndex..<end]
        rest = rest[min(end + 1, rest.endIndex)...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return line
    }

    /// The next line of `rest` that ends in LF, without its CR; nil if no LF
    /// is left (then `rest` is unchanged).
    static func nextCompleteLine(_ rest: inout Bytes) -> Bytes? {
        guard let end = rest.firstIndex(ofByte: UInt8(ascii: "\n")) else { return nil }
        var line = rest[rest.startIndex..<end]
        rest = rest[(end + 1)...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return line
    }

    /// The next element of a comma-separated list (untrimmed, possibly empty); `rest` moves past it.
    static func nextListElement(_ rest: inout Bytes) -> Bytes? {
        guard !rest.isEmpty else { return nil }
        let end = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
        let element = rest[rest.startIndex..<end]
        rest = rest[min(end + 1, rest.endIndex)...]
        return element
    }

    public static func isVersion(_ bytes: Bytes) -> Bool {
        bytes.count == 8 && equals(bytes.prefix(7), "HTTP/1.") && bytes.last.map(isDigit) == true
    }

    /// Byte-wise comparison with an ASCII literal.
    static func equals(_ bytes: Bytes, _ literal: StaticString) -> Bool {
        bytes.starts(withBytes: literal) && bytes.count == literal.utf8CodeUnitCount
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// RFC 9110 tchar.
    public static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    public static func trimmed(_ bytes: Bytes) -> Bytes {
        var s = bytes
        while let f = s.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { s = s.dropFirst() }
        while let l = s.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { s = s.dropLast() }
        return s
    }

    /// ASCII case-insensitive comparison with a lowercase literal.
    static func equalsLowercased(_ bytes: Bytes, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var i = 0
        for b in bytes {
            let lower = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
            if lower != expected[i] { return false }
            i += 1
        }
        return true
    }

    /// The size on a chunk-size line (hex), up to its extensions (`;`),
    /// whitespace or line end; the line must hold one of those after the
    /// digits. `maxDigits`: the analyzer keeps 15, so a size plus what frames
    /// it never overflows; the HTTP client takes 16 (any size it can compare
    /// with what arrived).
    public static func chunkSize<Line: Collection<UInt8>>(_ line: Line, maxDigits: Int = 15) throws(ProtocolParseError) -> UInt64 {
        var size: UInt64 = 0
        var digits = 0
        for b in line {
            let v: UInt64
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(b - UInt8(ascii: "A") + 10)
            default:
                guard digits > 0, b == UInt8(ascii: ";") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
                    || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") else {
                    throw .malformed("bad chunk size")
                }
                return size
            }
            digits += 1
            guard digits <= maxDigits else { throw .malformed("chunk size too large") }
            size = size << 4 | v
        }
        throw .malformed("bad chunk size")
    }

    /// "42", or a list of equal values ("42, 42") as some proxies send.
    static func contentLength(_ value: Bytes) throws(Defect) -> UInt64 {
        var result: UInt64?
        var start = value.startIndex
        while true {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
            let digits = trimmed(value[start..<end])
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(isDigit) else {
                throw .badContentLength
            }
            let v = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - UInt8(ascii: "0")) }
            if let result, result != v { throw .conflictingContentLength }
            result = v
            guard end < value.endIndex else { break }
            start = end + 1
        }
        guard let result else { throw .badContentLength }
        return result
    }
}
