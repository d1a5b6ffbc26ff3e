/// Where a sink sends: a plain `http://host[:port]/path` URL. TLS is not
/// spoken; a local agent (vmagent, an OpenTelemetry collector) or a
/// sidecar proxy is the way to a remote https endpoint.
public struct HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// Path and query, "/" at least.
    public var path: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ url: String) throws(Invalid) {
        guard url.hasPrefix("http://") else {
            if url.hasPrefix("https://") {
                throw Invalid(description: "'\(url)': https is not supported; point pipetrace at a local agent or proxy over http")
            }
            throw Invalid(description: "'\(url)' is not an http:// URL")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        let (h, p) = try HTTPEndpoint.hostPort(String(authority), defaultPort: 80, what: "'\(url)'")
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

    public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}
