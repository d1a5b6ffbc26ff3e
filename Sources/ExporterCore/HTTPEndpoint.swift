/// Where a sink sends: an `http://host[:port]/path` or
/// `https://host[:port]/path` URL (port 80 or 443 by default).
public struct HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// https: the connection is TLS (`TLSContext`).
    public var isTLS: Bool
    public var host: String
    public var port: UInt16
    /// Path and query, "/" at least.
    public var path: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ url: String) throws(Invalid) {
        isTLS = url.hasPrefix("https://")
        guard isTLS || url.hasPrefix("http://") else { throw Invalid(description: "'\(url)' is not an http:// or https:// URL") }
        let rest = url.dropFirst(isTLS ? "https://".count : "http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        let (h, p) = try HTTPEndpoint.hostPort(String(authority), defaultPort: isTLS ? 443 : 80, what: "'\(url)'")
        host = h
        port = p
    }

    /// Splits "host:port", "[v6]:port" or "host".
    /// `allowZero`: port 0 asks the kernel for a free one (for a listening address).
    public static func hostPort(_ text: String, defaultPort: UInt16?, what: String, allowZero: Bool = false) throws(Invalid) -> (String, UInt16) {
        var host = Substring(text)
        var port: UInt16? = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw Invalid(description: "\(what): unclosed '[' in the address") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") { port = UInt16(after.dropFirst()) } else if !after.isEmpty { port = nil }
        } else if let colon = host.lastIndex(of: ":") {
            port = UInt16(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        guard let port, port != 0 || allowZero else { throw Invalid(description: "\(what): a port from 1 to 65535 is needed") }
        guard !host.isEmpty else { throw Invalid(description: "\(what): no host") }
        return (String(host), port)
    }

    public var description: String { "\(isTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}
