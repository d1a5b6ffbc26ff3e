import Analyzer

/// A record as the analyzer makes one, with what the metrics read set.
func record(id: UInt64 = 1, ms: Double, client: String? = "collector", server: String? = "lb", method: String = "POST",
            target: String = "/api/v1/write", status: Int? = 204, network: Double? = nil, serverMs: Double? = nil,
            retransmits: UInt32 = 0, complete: Bool = true) -> RequestRecord {
    RequestRecord(id: id, start: 1_700_000_000_000_000_000, duration: UInt64(ms * 1e6), protocolName: "http/1.1",
                  method: method, target: target, status: status, requestBytes: 100, responseBytes: 0,
                  client: .init(ip: "10.0.0.1", port: 40000, container: client),
                  server: .init(ip: "10.0.0.2", port: 8428, container: server), side: .both,
                  network: network.map { UInt64($0 * 1e6) }, serverTime: serverMs.map { UInt64($0 * 1e6) },
                  retransmits: retransmits, isComplete: complete)
}
