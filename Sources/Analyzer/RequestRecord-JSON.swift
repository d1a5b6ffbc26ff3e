import Events

extension RequestRecord {
    /// Writes the record as one JSON object. The field names are a stable
    /// interface: `id, start, duration_ms, protocol, method, target, status,
    /// request_bytes, response_bytes, client, server, side, network_ms,
    /// server_ms, retransmits, hop, parent, outcome`, then, only when the
    /// protocol gives them, `request_messages, response_messages,
    /// first_response_ms`, `attributes` (an object, keys sorted) and
    /// `partitions` (a broker's topic partitions, see `PartitionActivity`). Times in milliseconds with
    /// nanosecond precision; `start` in RFC 3339 UTC with nanoseconds.
    public func writeJSON(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", id)
        writer.field("start", unixNanoseconds: start)
        writer.field("duration_ms", RequestRecord.milliseconds(duration), decimals: 6)
        writer.field("protocol", protocolName)
        writer.field("method", method)
        writer.field("target", target)
        writer.field("status", status)
        writer.field("request_bytes", requestBytes)
        writer.field("response_bytes", responseBytes)
        RequestRecord.write(client, "client", &writer)
        RequestRecord.write(server, "server", &writer)
        writer.field("side", side.rawValue)
        writer.field("network_ms", network.map(RequestRecord.milliseconds), decimals: 6)
        writer.field("server_ms", serverTime.map(RequestRecord.milliseconds), decimals: 6)
        writer.field("retransmits", retransmits)
        writer.field("hop", hop)
        writer.field("parent", parent)
        writer.field("outcome", outcome?.rawValue)
        // Only for protocols that count messages: an HTTP/1 record stays as it was.
        if let requestMessages { writer.field("request_messages", requestMessages) }
        if let responseMessages { writer.field("response_messages", responseMessages) }
        if let firstResponse { writer.field("first_response_ms", RequestRecord.milliseconds(firstResponse), decimals: 6) }
        if !attributes.isEmpty {
            writer.beginObject("attributes")
            for key in attributes.keys.sorted() { writer.field(key, attributes[key]) }
            writer.endObject()
        }
        if let partitions { RequestRecord.write(partitions, &writer) }
        writer.endObject()
    }

    private static func write(_ partitions: [PartitionActivity], _ writer: inout JSONWriter) {
        writer.beginArray("partitions")
        for p in partitions {
            writer.beginObject()
            writer.field("topic", p.topic)
            writer.field("partition", p.partition)
            if let v = p.errorCode { writer.field("error_code", Int(v)) }
            if let v = p.fetchOffset { writer.field("fetch_offset", v) }
            if let v = p.baseOffset { writer.field("base_offset", v) }
            if let v = p.committedOffset { writer.field("committed_offset", v) }
            if let v = p.highWatermark { writer.field("high_watermark", v) }
            if let v = p.lastStableOffset { writer.field("last_stable_offset", v) }
            if let v = p.records { writer.field("records", v) }
            if let v = p.bytes { writer.field("bytes", v) }
            if !p.batchOffsets.isEmpty {
                writer.beginArray("batch_offsets")
                for offset in p.batchOffsets { writer.element(offset) }
                writer.endArray()
            }
            writer.endObject()
        }
        writer.endArray()
    }

    /// The record as one line of JSON.
    public var json: String {
        var writer = JSONWriter()
        writeJSON(into: &writer)
        return writer.text
    }

    private static func write(_ peer: Peer, _ key: String, _ writer: inout JSONWriter) {
        writer.beginObject(key)
        writer.field("ip", peer.ip)
        writer.field("port", peer.port)
        writer.field("pid", peer.pid)
        writer.field("comm", peer.comm)
        writer.field("container", peer.container)
        writer.field("container_id", peer.containerID)
        writer.endObject()
    }

    static func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1_000_000 }

    static func nanoseconds(_ milliseconds: Double) -> UInt64 { UInt64(max(0, (milliseconds * 1_000_000).rounded())) }
}
