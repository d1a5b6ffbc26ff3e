import Events

/// One request/response exchange: the unit every consumer of the analyzer
/// (the `requests` and `stat` verbs, exporters) works with. Seen from one
/// end of the connection, or from both when both ends run on this host.
public struct RequestRecord: Sendable, Hashable {
    /// Which ends of the connection the analyzer saw.
    public enum Side: String, Sendable, Hashable, Codable {
        case client, server, both
    }

    /// One end of the exchange. Process fields are nil for an end that was not traced.
    ///
    /// The process fields come first so that the memberwise initializer
    /// (`Peer(pid:comm:container:containerID:ip:port:)`, what the analyzer uses) is not
    /// the public one (`init(ip:port:pid:comm:container:containerID:)`, in an extension):
    /// a peer made by the memberwise initializer is made in place, one made
    /// by an initializer that assigns field by field is made aside and copied
    /// (a retain and a release of each of its strings, per record).
    public struct Peer: Sendable, Hashable, Codable {
        public var pid: UInt32?
        public var comm: String?
        /// The container's name (its short id when the name is not known),
        /// else the `ip netns` name, else "host".
        public var container: String?
        /// The container's short id, when the end is in a container.
        public var containerID: String?
        public var ip: String?
        public var port: UInt16?

        enum CodingKeys: String, CodingKey {
            case pid, comm, container, containerID = "container_id", ip, port
        }
    }

    /// Unique within one analyzer run; what `parent` refers to.
    public var id: UInt64
    /// Wall-clock time of the request's first byte: nanoseconds since the Unix epoch.
    public var start: Int64
    /// Client view: entering the write of the request's first byte to leaving
    /// the read of the response's last byte. Server view: reading the request's
    /// first byte to writing the response's last byte. From a capture file
    /// (`AnalyzerConfiguration.durationOrigin == .requestEnd`): the packet
    /// completing the request to the packet completing the response, as
    /// Wireshark's `http.time`.
    public var duration: UInt64
    /// "http/1.1", "http/1.0", ...
    public var protocolName: String
    public var method: String?
    public var target: String?
    /// Nil when no final response was seen.
    public var status: Int?
    public var requestBytes: UInt64
    public var responseBytes: UInt64
    public var client: Peer
    public var server: Peer
    public var side: Side
    /// Client duration minus server time (clamped at 0); both ends seen only.
    public var network: UInt64?
    /// The server's read-request to write-response time; nil when the server end was not seen.
    public var serverTime: UInt64?
    /// Wall-clock time the server began reading the request (Unix ns), when
    /// both ends were seen: where the server's part sits inside the client's
    /// (a trace's SERVER span). Not part of the JSON interface.
    public var serverStart: Int64?
    /// TCP segments retransmitted on the connection(s) while the exchange was in flight.
    public var retransmits: UInt32
    /// `id` of the request the server was serving when it made this one.
    public var parent: UInt64?
    /// Nanoseconds spent with at least one child request in flight.
    /// Not part of the JSON interface.
    public var childWait: UInt64
    /// Both the request and the final response were seen to their last byte.
    /// False for exchanges cut short by a close, a parse error or a limit.
    /// Not part of the JSON interface.
    public var isComplete: Bool

    /// "<client container>→<server container>", "?" for an unknown end; nil if both are unknown.
    public var hop: String? { RequestRecord.hop(client: client.container, server: server.container) }

    /// A hop's text from its two containers: "?" for an end without one; nil when neither has one.
    public static func hop(client: String?, server: String?) -> String? {
        if client == nil && server == nil { return nil }
        return "\(client ?? "?")→\(server ?? "?")"
    }

    /// Duration minus the time spent waiting on child requests: what this
    /// hop itself cost.
    public var selfTime: UInt64 { duration - min(duration, childWait) }
}

extension RequestRecord.Peer {
    /// A peer from its address and, for an end that was traced, its process.
    public init(ip: String? = nil, port: UInt16? = nil, pid: UInt32? = nil, comm: String? = nil,
                container: String? = nil, containerID: String? = nil) {
        self.init(pid: pid, comm: comm, container: container, containerID: containerID, ip: ip, port: port)
    }
}

extension RequestRecord {
    /// A record from its fields (`serverStart` is set by the analyzer alone).
    ///
    /// In an extension, so the type keeps its memberwise initializer: a
    /// record built through that is made in place, while one built by an
    /// initializer that assigns field by field is made aside and copied.
    public init(id: UInt64, start: Int64, duration: UInt64, protocolName: String, method: String?, target: String?,
                status: Int?, requestBytes: UInt64, responseBytes: UInt64, client: Peer, server: Peer, side: Side,
                network: UInt64? = nil, serverTime: UInt64? = nil, retransmits: UInt32 = 0, parent: UInt64? = nil,
                childWait: UInt64 = 0, isComplete: Bool = true) {
        self.init(id: id, start: start, duration: duration, protocolName: protocolName, method: method, target: target,
                  status: status, requestBytes: requestBytes, responseBytes: responseBytes, client: client,
                  server: server, side: side, network: network, serverTime: serverTime, serverStart: nil,
                  retransmits: retransmits, parent: parent, childWait: childWait, isComplete: isComplete)
    }
}
