import Events

/// The same shape as `writeJSON(into:)`, so records written by pipetrace can
/// be read back (`JSONDecoder`) by tools and tests. `childWait` and
/// `isComplete` are not part of the interface: they decode as 0 and
/// `status != nil`.
extension RequestRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case id, start, duration_ms, `protocol`, method, target, status, request_bytes, response_bytes
        case client, server, side, network_ms, server_ms, retransmits, hop, parent
        case outcome, request_messages, response_messages, first_response_ms, attributes, partitions
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let startText = try c.decode(String.self, forKey: .start)
        guard let start = RFC3339.unixNanoseconds(startText) else {
            throw DecodingError.dataCorruptedError(forKey: .start, in: c, debugDescription: "not RFC 3339: \(startText)")
        }
        let status = try c.decodeIfPresent(Int.self, forKey: .status)
        self.init(id: try c.decode(UInt64.self, forKey: .id),
                  start: start,
                  duration: RequestRecord.nanoseconds(try c.decode(Double.self, forKey: .duration_ms)),
                  protocolName: try c.decode(String.self, forKey: .protocol),
                  method: try c.decodeIfPresent(String.self, forKey: .method),
                  target: try c.decodeIfPresent(String.self, forKey: .target),
                  status: status,
                  requestBytes: try c.decode(UInt64.self, forKey: .request_bytes),
                  responseBytes: try c.decode(UInt64.self, forKey: .response_bytes),
                  client: try c.decode(Peer.self, forKey: .client),
                  server: try c.decode(Peer.self, forKey: .server),
                  side: try c.decode(Side.self, forKey: .side),
                  network: try c.decodeIfPresent(Double.self, forKey: .network_ms).map(RequestRecord.nanoseconds),
                  serverTime: try c.decodeIfPresent(Double.self, forKey: .server_ms).map(RequestRecord.nanoseconds),
                  retransmits: try c.decode(UInt32.self, forKey: .retransmits),
                  parent: try c.decodeIfPresent(UInt64.self, forKey: .parent),
                  childWait: 0,
                  isComplete: status != nil,
                  outcome: try c.decodeIfPresent(Outcome.self, forKey: .outcome),
                  requestMessages: try c.decodeIfPresent(UInt32.self, forKey: .request_messages),
                  responseMessages: try c.decodeIfPresent(UInt32.self, forKey: .response_messages),
                  firstResponse: try c.decodeIfPresent(Double.self, forKey: .first_response_ms).map(RequestRecord.nanoseconds),
                  attributes: try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:])
        partitions = try c.decodeIfPresent([PartitionActivity].self, forKey: .partitions)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(WallClock.rfc3339(unixNanoseconds: start), forKey: .start)
        try c.encode(RequestRecord.milliseconds(duration), forKey: .duration_ms)
        try c.encode(protocolName, forKey: .protocol)
        try c.encode(method, forKey: .method)
        try c.encode(target, forKey: .target)
        try c.encode(status, forKey: .status)
        try c.encode(requestBytes, forKey: .request_bytes)
        try c.encode(responseBytes, forKey: .response_bytes)
        try c.encode(client, forKey: .client)
        try c.encode(server, forKey: .server)
        try c.encode(side, forKey: .side)
        try c.encode(network.map(RequestRecord.milliseconds), forKey: .network_ms)
        try c.encode(serverTime.map(RequestRecord.milliseconds), forKey: .server_ms)
        try c.encode(retransmits, forKey: .retransmits)
        try c.encode(hop, forKey: .hop)
        try c.encode(parent, forKey: .parent)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(requestMessages, forKey: .request_messages)
        try c.encode(responseMessages, forKey: .response_messages)
        try c.encode(firstResponse.map(RequestRecord.milliseconds), forKey: .first_response_ms)
        if !attributes.isEmpty { try c.encode(attributes, forKey: .attributes) }
        if let partitions { try c.encode(partitions, forKey: .partitions) }
    }
}
