import Analyzer

enum RecordFixtures {
    static func record(start: Int64 = 1_700_000_000_000_000_000, duration: UInt64 = 1_000_000) -> RequestRecord {
        RequestRecord(id: 1, start: start, duration: duration, protocolName: "http/1.1", method: "GET", target: "/metrics",
                      status: 200, requestBytes: 100, responseBytes: 3000,
                      client: .init(ip: "10.0.0.2", port: 40000, pid: 42, comm: "curl", container: "collector"),
                      server: .init(ip: "10.0.0.1", port: 8080, pid: 7, comm: "python3", container: "lb"), side: .both)
    }
}
