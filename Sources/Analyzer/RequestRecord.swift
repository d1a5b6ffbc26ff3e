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
    /// The operation (JSON `method`): the HTTP method, a gRPC full method
    /// ("pkg.Service/Method"), a Kafka API, an AMQP method.
    public var method: String?
    /// The resource (JSON `target`): an HTTP request target or :path, a topic, a queue.
    public var target: String?
    /// The protocol's own status: an HTTP status code, a gRPC status code
    /// (`grpc-status`), ... Nil when no final response was seen.
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
    /// What `status` means whatever the protocol; nil when unknown.
    public var outcome: Outcome? = nil
    /// Messages each way, for protocols that frame several per exchange
    /// (gRPC's length-prefixed messages); nil where not counted.
    public var requestMessages: UInt32? = nil
    public var responseMessages: UInt32? = nil
    /// Request start to the first response message (a stream's time to first
    /// message); nil where messages are not counted.
    public var firstResponse: UInt64? = nil
    /// What pairs this end's view with the other end's when the protocol
    /// multiplexes (HTTP/2: the stream id); nil: pair in order on the connection.
    /// Not part of the JSON interface (HTTP/2 shows it as `http2.stream_id`).
    public var pairingKey: UInt64? = nil
    /// Per-protocol attributes ("grpc.message", "http2.stream_id", ...), written sorted by key.
    public var attributes: [String: String] {
        get { attributeStorage ?? [:] }
        set { attributeStorage = newValue.isEmpty ? nil : newValue }
    }
    /// Nil for none (most records): a record without attributes holds no dictionary to release.
    var attributeStorage: [String: String]? = nil
    /// For a broker protocol (Kafka), the topic partitions the exchange
    /// touched and what it did to each; nil for other protocols.
    public var partitions: [PartitionActivity]? = nil

    /// The protocol-neutral outcome of an exchange.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case ok
        /// The client asked for something wrong (HTTP 4xx, gRPC INVALID_ARGUMENT, NOT_FOUND, ...).
        case clientError = "client_error"
        /// The server failed (HTTP 5xx, gRPC INTERNAL, UNAVAILABLE, ...).
        case serverError = "server_error"
        /// An end abandoned the exchange (HTTP/2 RST_STREAM, gRPC CANCELLED).
        case cancelled
        /// The deadline passed (gRPC DEADLINE_EXCEEDED).
        case timeout

        /// HTTP's statuses: 1xx-3xx ok, 4xx client error, 5xx server error.
        public init?(httpStatus: Int) {
            switch httpStatus {
            case 100..<400: self = .ok
            case 400..<500: self = .clientError
            case 500..<600: self = .serverError
            default: return nil
            }
        }

        /// gRPC's status codes (grpc/doc/statuscodes.md), by who is at fault.
        public init(grpcStatus: Int) {
            switch grpcStatus {
            case 0: self = .ok
            case 1: self = .cancelled
            case 4: self = .timeout
            case 3, 5, 6, 7, 9, 10, 11, 16: self = .clientError
            default: self = .serverError // UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS
            }
        }

        /// Whether a span or a status class should call it an error.
        public var isError: Bool { self != .ok }
    }

    /// One topic partition an exchange with a broker touched. Fields the
    /// exchange does not carry, or that could not be read, are nil.
    /// JSON keys in snake case, as the record's own (`RequestRecord-JSON`).
    public struct PartitionActivity: Sendable, Hashable, Codable {
        /// Nil when the exchange named the topic by an id not resolved on this connection.
        public var topic: String?
        public var partition: Int32
        /// The protocol's per-partition error code (Kafka: 0 is none).
        public var errorCode: Int16? = nil
        /// Fetch: the offset asked for, the consumer's next offset.
        public var fetchOffset: Int64? = nil
        /// Produce: the offset the broker gave the first record sent.
        public var baseOffset: Int64? = nil
        /// OffsetCommit / OffsetFetch: the group's committed offset.
        public var committedOffset: Int64? = nil
        /// Fetch: the partition's end as the broker answered it.
        public var highWatermark: Int64? = nil
        public var lastStableOffset: Int64? = nil
        /// Records and record-set bytes sent (Produce) or returned (Fetch),
        /// counted from the batches' headers (never decompressed); records
        /// in a batch that was cut or not captured are not counted.
        public var records: UInt32? = nil
        public var bytes: UInt32? = nil
        /// Fetch: base offsets of the whole batches returned, first ones only
        /// (`maxBatchOffsets`): what links a fetch to the produce of a batch
        /// (a producer's batches have no offset yet: its Produce's is `baseOffset`).
        public var batchOffsets: [Int64] = []

        public static let maxBatchOffsets = 64

        enum CodingKeys: String, CodingKey {
            case topic, partition, errorCode = "error_code", fetchOffset = "fetch_offset", baseOffset = "base_offset"
            case committedOffset = "committed_offset", highWatermark = "high_watermark"
            case lastStableOffset = "last_stable_offset", records, bytes, batchOffsets = "batch_offsets"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            topic = try c.decodeIfPresent(String.self, forKey: .topic)
            partition = try c.decode(Int32.self, forKey: .partition)
            errorCode = try c.decodeIfPresent(Int16.self, forKey: .errorCode)
            fetchOffset = try c.decodeIfPresent(Int64.self, forKey: .fetchOffset)
            baseOffset = try c.decodeIfPresent(Int64.self, forKey: .baseOffset)
            committedOffset = try c.decodeIfPresent(Int64.self, forKey: .committedOffset)
            highWatermark = try c.decodeIfPresent(Int64.self, forKey: .highWatermark)
            lastStableOffset = try c.decodeIfPresent(Int64.self, forKey: .lastStableOffset)
            records = try c.decodeIfPresent(UInt32.self, forKey: .records)
            bytes = try c.decodeIfPresent(UInt32.self, forKey: .bytes)
            batchOffsets = try c.decodeIfPresent([Int64].self, forKey: .batchOffsets) ?? []
        }

        public init(topic: String?, partition: Int32) {
            self.topic = topic
            self.partition = partition
        }
    }

    /// The operation (HTTP method, gRPC full method, ...): `method` by its neutral name.
    public var operation: String? { method }
    /// The resource (path, topic, queue, ...): `target` by its neutral name.
    public var resource: String? { target }

    /// "GET /items/1", or just the operation when the resource only repeats
    /// it (gRPC: "pkg.Service/Method" for the path "/pkg.Service/Method"); "?" for an unknown part.
    public static func operationText(_ operation: String?, _ resource: String?) -> String {
        if let operation, let resource, resource.utf8.count == operation.utf8.count + 1,
           resource.hasPrefix("/"), resource.hasSuffix(operation) {
            return operation
        }
        return "\(operation ?? "?") \(resource ?? "?")"
    }

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
                childWait: UInt64 = 0, isComplete: Bool = true, outcome: Outcome? = nil,
                requestMessages: UInt32? = nil, responseMessages: UInt32? = nil, firstResponse: UInt64? = nil,
                attributes: [String: String] = [:]) {
        self.init(id: id, start: start, duration: duration, protocolName: protocolName, method: method, target: target,
                  status: status, requestBytes: requestBytes, responseBytes: responseBytes, client: client,
                  server: server, side: side, network: network, serverTime: serverTime, serverStart: nil,
                  retransmits: retransmits, parent: parent, childWait: childWait, isComplete: isComplete,
                  outcome: outcome ?? RequestRecord.outcome(protocolName: protocolName, status: status),
                  requestMessages: requestMessages, responseMessages: responseMessages, firstResponse: firstResponse,
                  pairingKey: nil, attributeStorage: attributes.isEmpty ? nil : attributes)
    }

    /// The outcome `status` means in `protocolName` when nothing more is known
    /// (a record read from JSON written before outcomes existed).
    public static func outcome(protocolName: String, status: Int?) -> Outcome? {
        guard let status else { return nil }
        return protocolName == "grpc" ? Outcome(grpcStatus: status) : Outcome(httpStatus: status)
    }
}
