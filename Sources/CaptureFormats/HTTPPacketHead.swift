import Analyzer

/// The HTTP/1.x head at the start of one packet's payload, read as Tracee
/// reads it for its `net_packet_http_*` events (Go's http.ReadRequest and
/// ReadResponse on the packet alone): the start line and the headers the
/// packet holds, names in canonical form ("content-length" → "Content-Length").
/// Where it differs from `HTTPHead` (the grammar of the analyzer, the HTTP
/// client and the /metrics server), it is to match Go: every header kept,
/// a header line outside the grammar skipped rather than failing the head,
/// methods in capitals only, the path without its query. Header names are
/// tokens by `HTTPHead.isTokenByte`.
public struct HTTPPacketHead: Sendable, Hashable {
    public var isRequest: Bool
    /// Requests: the method and the path without its query.
    public var method: String = ""
    public var path: String = ""
    /// "HTTP/1.1".
    public var version: String = ""
    /// Responses: "200 OK" and 200.
    public var status: String = ""
    public var statusCode: Int = 0
    /// In order, as sent; names canonical.
    public var headers: [(name: String, value: String)] = []

    public static func == (a: HTTPPacketHead, b: HTTPPacketHead) -> Bool {
        a.isRequest == b.isRequest && a.method == b.method && a.path == b.path && a.version == b.version &&
            a.status == b.status && a.statusCode == b.statusCode &&
            a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(isRequest)
        hasher.combine(method)
        hasher.combine(path)
        hasher.combine(statusCode)
    }

    /// The Host header ("" if none).
    public var host: String { headers.first { $0.name == "Host" }?.value ?? "" }

    /// Content-Length, 0 when absent or not a number (Go's ContentLength for a bodiless message).
    public var contentLength: Int64 {
        headers.first { $0.name == "Content-Length" }.flatMap { Int64($0.value) } ?? 0
    }

    /// Nil when the payload does not start with an HTTP/1.x request or status line.
    public init?(_ payload: [UInt8]) {
        let text = String(decoding: payload.prefix(8192), as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard lines.count >= 2, let first = lines.first else { return nil }
        lines.removeFirst()
        let parts = first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        if parts[0].hasPrefix("HTTP/1.") {
            isRequest = false
            version = String(parts[0])
            guard let code = Int(parts[1]), parts[1].count == 3 else { return nil }
            statusCode = code
            status = parts.count == 3 ? "\(parts[1]) \(parts[2])" : String(parts[1])
        } else if parts.count == 3, parts[2].hasPrefix("HTTP/1."), !parts[0].isEmpty,
                  parts[0].utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
            isRequest = true
            method = String(parts[0])
            path = String(parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
            version = String(parts[2])
        } else {
            return nil
        }
        for line in lines {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPHead.isTokenByte) else { continue }
            let value = line[line.index(after: colon)...].trimmingSpaces
            headers.append((HTTPPacketHead.canonical(name), String(value)))
        }
    }

    /// Go's CanonicalMIMEHeaderKey: first letter and each letter after '-' upper, the rest lower.
    static func canonical(_ name: Substring) -> String {
        var upper = true
        var out = ""
        for c in name {
            out += upper ? c.uppercased() : c.lowercased()
            upper = c == "-"
        }
        return out
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
