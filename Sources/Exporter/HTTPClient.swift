import ExporterCore
import Foundation

/// HTTP/1.1 requests to the sinks' receivers. A sink's sender thread
/// sends through one kept-alive `HTTPConnection` (`connection()`); `post`
/// and `get` are one-off requests on a connection of their own, closed
/// after (`Connection: close`). https URLs go through `tls` (OpenSSL) over
/// the same socket.
///
/// A hand-written client rather than libcurl: it is a few pages long, it
/// tells `onConnect` each local address before a byte is sent (how our own
/// traffic is recognized), and libcurl would need a C shim of its own for
/// its variadic options and callbacks while deleting only the parsing in
/// `HTTPConnection`.
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        /// A short word for metrics: "resolve", "connect", "timeout", "io", "tls", "protocol".
        public let reason: String
        public let description: String
    }

    public var timeout: Double
    /// For https URLs; nil: the system trust store, no client certificate (a context made per connection).
    public var tls: TLSContext?
    /// Told both ends of each connection a request goes out on, before it
    /// is sent, so the records of that traffic can be recognized as our own.
    public var onConnect: @Sendable (Connection) -> Void

    /// A connection's two ends (in the core, where `OwnTraffic` matches them).
    public typealias Connection = ConnectionEnds

    public init(timeout: Double = 10, tls: TLSContext? = nil, onConnect: @escaping @Sendable (Connection) -> Void = { _ in }) {
        self.timeout = timeout
        self.tls = tls
        self.onConnect = onConnect
    }

    public func post(_ endpoint: HTTPEndpoint, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        try request("POST", endpoint, headers: headers, body: body)
    }

    public func get(_ endpoint: HTTPEndpoint) throws(Failure) -> Response {
        try request("GET", endpoint, headers: [], body: [])
    }

    func request(_ method: String, _ endpoint: HTTPEndpoint, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        try connection().send(method, endpoint, headers: headers, body: body[...], keepAlive: false)
    }

    /// A connection kept alive from request to request, for one thread's use (a sink's sender).
    func connection() -> HTTPConnection { HTTPConnection(self) }
}
