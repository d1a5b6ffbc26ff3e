import Analyzer

/// Records of a traced pipeline as the analyzer hands them out: requests
/// from `client` to `lb`, each served by a request from `lb` to `backend`,
/// each of those by one from `backend` to `db`; every hop seen from both
/// ends. Durations grow with the request's number, so the slowest are the last.
struct PipelineRecords {
    static let hops = ["client→lb", "lb→backend", "backend→db"]
    static let containers = ["client", "lb", "backend", "db"]
    /// 2026-01-01T00:00:00Z.
    static let origin: Int64 = 1_767_225_600_000_000_000

    var records: [RequestRecord] = []

    /// `requests` chains over `seconds` seconds; request n takes 1 ms + n µs at the front door.
    init(requests: Int, seconds: Double = 10, target: (Int) -> String = { "/items/\($0)" },
         retransmitsEvery: Int = 0) {
        let step = Int64(seconds * 1e9) / Int64(max(1, requests))
        var id: UInt64 = 0
        for n in 0..<requests {
            let start = Self.origin + Int64(n) * step
            var duration = UInt64(1_000_000 + n * 1_000)
            var parent: UInt64?
            var chain: [RequestRecord] = []
            for depth in 0..<3 {
                id += 1
                var record = RequestRecord(
                    id: id, start: start + Int64(depth) * 100_000, duration: duration, protocolName: "http/1.1",
                    method: "GET", target: target(n), status: n % 50 == 0 ? 503 : 200, requestBytes: 100, responseBytes: 2000,
                    client: .init(ip: "10.0.0.\(depth + 1)", port: 40000, pid: 10, comm: "c",
                                  container: Self.containers[depth]),
                    server: .init(ip: "10.0.0.\(depth + 2)", port: 8080, pid: 20, comm: "s",
                                  container: Self.containers[depth + 1]),
                    side: .both, network: 50_000, serverTime: duration - 50_000,
                    retransmits: retransmitsEvery > 0 && n % retransmitsEvery == 0 && depth == 1 ? 2 : 0,
                    parent: parent, childWait: depth < 2 ? duration - 300_000 : 0)
                record.serverStart = record.start + 25_000
                chain.append(record)
                parent = id
                duration -= 300_000
            }
            // A parent completes after its children: the analyzer hands out the deepest first.
            records += chain.reversed()
        }
    }
}
