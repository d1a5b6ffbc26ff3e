import Events

/// HTTP/1's credentials, wherever a line of a message starts in the bytes:
/// - the values of `Authorization` and `Proxy-Authorization` (the scheme,
///   `Basic`/`Bearer`, stays), of `Cookie` (each cookie's value; names stay),
///   of `Set-Cookie` (the cookie's value; attributes stay), and of every
///   header whose name is a secret's (`X-Api-Key`, `X-Auth-Token`);
/// - in a request line's target and in `Referer`, `Location` and
///   `Content-Location`: the URL's userinfo (`user:password@`) and the values
///   of query parameters whose names are secrets' (`?api_key=…`);
/// - in a body: `name=value` pairs of a form (`password=…&user=…`) and
///   JSON members (`"token": "…"`) whose names are secrets'.
///
/// A message cut in the middle of a line (a payload that starts inside a
/// header) is read from its first full line: the piece before it is not
/// recognised.
public struct HTTPCredentials: RedactionRule {
    public init() {}

    public func secrets(in b: UnsafeBufferPointer<UInt8>, names: SecretNames, _ secret: (Range<Int>) -> Void) {
        var start = 0
        while start < b.count {
            let end = b[start...].firstIndex(ofByte: 0x0a) ?? b.count
            let contentEnd = end > start && b[end - 1] == 0x0d ? end - 1 : end
            HTTPCredentials.line(b, start..<contentEnd, names, secret)
            start = end + 1
        }
        HTTPCredentials.jsonMembers(b, names, secret)
    }

    private static func line(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, _ names: SecretNames,
                             _ secret: (Range<Int>) -> Void) {
        guard !line.isEmpty else { return }
        // A header: a token, then ':'.
        var i = line.lowerBound
        while i < line.upperBound && isToken(b[i]) { i += 1 }
        if i > line.lowerBound, i < line.upperBound, b[i] == UInt8(ascii: ":") {
            let name = UnsafeBufferPointer(rebasing: b[line.lowerBound..<i])
            var v = i + 1
            while v < line.upperBound && (b[v] == 0x20 || b[v] == 0x09) { v += 1 }
            header(b, name: name, value: v..<line.upperBound, names, secret)
            return
        }
        // A request line: METHOD SP target SP version.
        i = line.lowerBound
        while i < line.upperBound && b[i] >= 0x41 && b[i] <= 0x5a { i += 1 }
        if i > line.lowerBound, i - line.lowerBound <= 20, i < line.upperBound, b[i] == 0x20 {
            var t = i + 1
            while t < line.upperBound && b[t] != 0x20 { t += 1 }
            urlSecrets(in: b, range: (i + 1)..<t, names: names, secret)
            return
        }
        // A form body: name=value pairs, no spaces.
        if b[line].firstIndex(ofByte: UInt8(ascii: "=")) != nil && b[line].firstIndex(ofByte: 0x20) == nil {
            pairs(b, line, separators: [UInt8(ascii: "&"), UInt8(ascii: ";")], names, secret)
        }
    }

    private static func header(_ b: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>, value: Range<Int>,
                               _ names: SecretNames, _ secret: (Range<Int>) -> Void) {
        guard !value.isEmpty else { return }
        if equals(name, "cookie") {
            // name=value; name=value
            var s = value.lowerBound
            while s < value.upperBound {
                var e = s
                while e < value.upperBound && b[e] != UInt8(ascii: ";") { e += 1 }
                var p = s
                while p < e && b[p] == 0x20 { p += 1 }
                if let eq = b[p..<e].firstIndex(of: UInt8(ascii: "=")) { secret((eq + 1)..<e) } else { secret(p..<e) }
                s = e + 1
            }
        } else if equals(name, "set-cookie") {
            var e = value.lowerBound
            while e < value.upperBound && b[e] != UInt8(ascii: ";") { e += 1 }
            if let eq = b[value.lowerBound..<e].firstIndex(of: UInt8(ascii: "=")) {
                secret((eq + 1)..<e)
            } else {
                secret(value.lowerBound..<e)
            }
        } else if names.isSecret(name) {
            // "Bearer abc", "Basic dXNlcjpwYXNz": the scheme stays.
            var s = value.lowerBound
            while s < value.upperBound && isAlpha(b[s]) { s += 1 }
            if s > value.lowerBound, s < value.upperBound, b[s] == 0x20, contains(name, "auth") {
                while s < value.upperBound && b[s] == 0x20 { s += 1 }
                secret(s..<value.upperBound)
            } else {
                secret(value)
            }
        } else if equals(name, "referer") || equals(name, "location") || equals(name, "content-location") {
            urlSecrets(in: b, range: value, names: names, secret)
        }
    }

    /// The userinfo of an absolute URL and the secret query values, within `range`.
    static func urlSecrets(in b: UnsafeBufferPointer<UInt8>, range: Range<Int>, names: SecretNames,
                           _ secret: (Range<Int>) -> Void) {
        var queryFrom = range.lowerBound
        let firstQuestion = b[range].firstIndex(of: UInt8(ascii: "?")) ?? range.upperBound
        if let scheme = find(b, range, "://"), scheme < firstQuestion {
            let authorityStart = scheme + 3
            var end = authorityStart
            while end < range.upperBound && b[end] != UInt8(ascii: "/") && b[end] != UInt8(ascii: "?")
                && b[end] != UInt8(ascii: "#") { end += 1 }
            if let at = b[authorityStart..<end].lastIndex(of: UInt8(ascii: "@")) {
                if let colon = b[authorityStart..<at].firstIndex(of: UInt8(ascii: ":")) {
                    secret(authorityStart..<colon)
                    secret((colon + 1)..<at)
                } else {
                    secret(authorityStart..<at)
                }
            }
            queryFrom = end
        }
        guard let question = b[queryFrom..<range.upperBound].firstIndex(of: UInt8(ascii: "?")) else { return }
        let end = b[question..<range.upperBound].firstIndex(of: UInt8(ascii: "#")) ?? range.upperBound
        pairs(b, (question + 1)..<end, separators: [UInt8(ascii: "&"), UInt8(ascii: ";")], names, secret)
    }

    /// `name=value` pairs: the values of secret names.
    private static func pairs(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, separators: [UInt8],
                              _ names: SecretNames, _ secret: (Range<Int>) -> Void) {
        var s = range.lowerBound
        while s < range.upperBound {
            var e = s
            while e < range.upperBound && !separators.contains(b[e]) { e += 1 }
            if let eq = b[s..<e].firstIndex(of: UInt8(ascii: "=")),
               names.isSecret(UnsafeBufferPointer(rebasing: b[s..<eq])) {
                secret((eq + 1)..<e)
            }
            s = e + 1
        }
    }

    /// `"name": "value"` with a secret name: the value's characters.
    private static func jsonMembers(_ b: UnsafeBufferPointer<UInt8>, _ names: SecretNames,
                                    _ secret: (Range<Int>) -> Void) {
        var i = 0
        let quote = UInt8(ascii: "\"")
        while i < b.count {
            guard let opening = b[i...].firstIndex(ofByte: quote) else { return }
            i = opening
            // A string: up to its closing quote, escapes skipped.
            var e = i + 1
            while e < b.count && b[e] != quote { e += b[e] == UInt8(ascii: "\\") ? 2 : 1 }
            guard e < b.count else { return }
            let name = (i + 1)..<e
            var c = e + 1
            while c < b.count && (b[c] == 0x20 || b[c] == 0x09) { c += 1 }
            guard c < b.count, b[c] == UInt8(ascii: ":") else { i = e + 1; continue }
            c += 1
            while c < b.count && (b[c] == 0x20 || b[c] == 0x09) { c += 1 }
            guard c < b.count, b[c] == quote else { i = c; continue }
            var v = c + 1
            while v < b.count && b[v] != quote { v += b[v] == UInt8(ascii: "\\") ? 2 : 1 }
            let value = (c + 1)..<min(v, b.count)
            if names.isSecret(UnsafeBufferPointer(rebasing: b[name])) { secret(value) }
            i = v + 1
        }
    }

    private static func find(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ needle: StaticString) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard range.count >= n else { return nil }
        let p = needle.utf8Start
        var i = range.lowerBound
        while i + n <= range.upperBound {
            var j = 0
            while j < n && b[i + j] == p[j] { j += 1 }
            if j == n { return i }
            i += 1
        }
        return nil
    }

    /// Case-insensitive equality with a lowercase ASCII word.
    private static func equals(_ name: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard name.count == word.utf8CodeUnitCount else { return false }
        return contains(name, word)
    }

    /// Whether the lowercase ASCII `word` occurs in `name`, ignoring case.
    private static func contains(_ name: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard name.count >= n else { return false }
        let w = word.utf8Start
        for start in 0...(name.count - n) {
            var j = 0
            while j < n && (name[start + j] | 0x20) == w[j] { j += 1 }
            if j == n { return true }
        }
        return false
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a }

    private static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }
}
