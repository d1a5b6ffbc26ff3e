/// The start line and the headers of an HTTP/1 message that framing and
/// records need, parsed from the bytes up to the empty line. Header names
/// compare case-insensitively; anything outside the grammar throws.
struct HTTPHead {
    /// Request: method and target. Response: version and status code.
    var first: ArraySlice<UInt8> = []
    var second: ArraySlice<UInt8> = []
    var isRequest = false
    var isHTTP10 = false
    var status: Int?
    var contentLength: UInt64?
    /// How many transfer codings were listed; `isChunked` if the last is chunked.
    var transferCodings = 0
    var isChunked = false
    var expectsContinue = false

    init(_ bytes: [UInt8]) throws(ProtocolParseError) {
        var lines = HTTPHead.lines(bytes[...])
        guard let startLine = lines.next() else { throw .malformed("empty head") }
        try parseStartLine(startLine)
        while let line = lines.next() {
            if line.isEmpty { break }
            // obs-fold continuation lines (RFC 9112 §5.2) carry nothing we need.
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") { continue }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("header line without a name")
            }
            let name = line[line.startIndex..<colon]
            let value = HTTPHead.trimmed(line[(colon + 1)...])
            if HTTPHead.equalsLowercased(name, "content-length") {
                let length = try HTTPHead.contentLength(value)
                if let existing = contentLength, existing != length { throw .malformed("conflicting Content-Length") }
                contentLength = length
            } else if HTTPHead.equalsLowercased(name, "transfer-encoding") {
                for coding in value.split(separator: UInt8(ascii: ",")) {
                    let c = HTTPHead.trimmed(coding)
                    if c.isEmpty { continue }
                    transferCodings += 1
                    isChunked = HTTPHead.equalsLowercased(c, "chunked")
                }
            } else if HTTPHead.equalsLowercased(name, "expect") {
                expectsContinue = HTTPHead.equalsLowercased(value, "100-continue")
            }
        }
    }

    private mutating func parseStartLine(_ line: ArraySlice<UInt8>) throws(ProtocolParseError) {
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw .malformed("bad start line") }
        if HTTPHead.isVersion(parts[0]) {
            guard parts[1].count == 3, parts[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw .malformed("bad status code")
            }
            isHTTP10 = parts[0].last == UInt8(ascii: "0")
            first = parts[0]
            second = parts[1]
            status = parts[1].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        } else {
            guard parts.count == 3, HTTPHead.isVersion(parts[2]) else { throw .malformed("bad request line") }
            guard !parts[0].isEmpty, parts[0].allSatisfy(HTTPHead.isTokenByte) else { throw .malformed("bad method") }
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw .malformed("bad target") }
            isRequest = true
            isHTTP10 = parts[2].last == UInt8(ascii: "0")
            first = parts[0]
            second = parts[1]
        }
    }

    /// Lines split at LF, without their CR.
    static func lines(_ bytes: ArraySlice<UInt8>) -> some IteratorProtocol<ArraySlice<UInt8>> {
        var rest = bytes
        return AnyIterator {
            guard !rest.isEmpty else { return nil }
            let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            var line = rest[rest.startIndex..<end]
            rest = end < rest.endIndex ? rest[(end + 1)...] : []
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return line
        }
    }

    static func isVersion(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count == 8 && bytes.prefix(7).elementsEqual("HTTP/1.".utf8)
            && bytes.last.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } == true
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let f = s.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { s = s.dropFirst() }
        while let l = s.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { s = s.dropLast() }
        return s
    }

    /// ASCII case-insensitive comparison with a lowercase literal.
    static func equalsLowercased(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            var i = 0
            for b in bytes {
                let lower = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
                if lower != expected[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// "42", or a list of equal values ("42, 42") as some proxies send.
    static func contentLength(_ value: ArraySlice<UInt8>) throws(ProtocolParseError) -> UInt64 {
        var result: UInt64?
        for part in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let digits = trimmed(part)
            guard !digits.isEmpty, digits.count <= 18,
                  digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw .malformed("bad Content-Length")
            }
            let v = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - UInt8(ascii: "0")) }
            if let result, result != v { throw .malformed("conflicting Content-Length") }
            result = v
        }
        guard let result else { throw .malformed("bad Content-Length") }
        return result
    }
}
