// The OTLP encoders' cost: spans and slow-request log records of hop
// chains like the demo's (collector → lb → storage), encoded into
// `ExportTraceServiceRequest`/`ExportLogsServiceRequest` bytes in batches of
// the sink's default size, on one core. Prints CPU time per span (user+sys
// of the process, so a shared machine's other load does not count), best of
// several rounds.
//
//   swift run -c release OTLPEncodeBenchmark [rounds] [batches-per-round]
import Analyzer
import Exporter
import Glibc

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7 : 7
let batchesPerRound = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 50 : 50
let batchSize = 1000

/// One batch: chains of a merged hop (both ends traced) and its client-only child.
func batch() -> [OTLPSpan] {
    var linker = SpanLinker(salt: 1)
    var spans: [OTLPSpan] = []
    var id: UInt64 = 1
    while spans.count < batchSize {
        let parent = RequestRecord(
            id: id, start: 1_700_000_000_000_000_000 + Int64(id) * 1_000_000, duration: 30_000_000, protocolName: "http/1.1",
            method: "POST", target: "/api/v1/write?extra_label=instance", status: 204, requestBytes: 48_000, responseBytes: 0,
            client: .init(ip: "10.0.0.1", port: 40000, container: "collector"),
            server: .init(ip: "10.0.0.2", port: 8428, container: "lb"), side: .both,
            network: 2_000_000, serverTime: 28_000_000)
        var child = parent
        child.id = id + 1
        child.parent = id
        child.side = .client
        child.client = .init(ip: "10.0.0.2", port: 41000, container: "lb")
        child.server = .init(ip: "10.0.0.3", port: 8428)
        child.network = nil
        child.serverTime = nil
        spans += linker.add(child, now: 0) + linker.add(parent, now: 0)
        id += 2
    }
    return spans
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let spans = batch()
var bytes = 0
var best = (traces: Double.infinity, logs: Double.infinity, gzip: Double.infinity)
let encoded = OTLPTraceRequest(spans: spans).encoded()
for _ in 0..<rounds {
    var start = cpuSeconds()
    for _ in 0..<batchesPerRound { bytes &+= OTLPTraceRequest(spans: spans).encoded().count }
    best.traces = min(best.traces, (cpuSeconds() - start) / Double(batchesPerRound * spans.count))
    start = cpuSeconds()
    for _ in 0..<batchesPerRound { bytes &+= OTLPLogsRequest(spans: spans, threshold: 0).encoded().count }
    best.logs = min(best.logs, (cpuSeconds() - start) / Double(batchesPerRound * spans.count))
    start = cpuSeconds()
    for _ in 0..<batchesPerRound { bytes &+= Gzip.compress(encoded).count }
    best.gzip = min(best.gzip, (cpuSeconds() - start) / Double(batchesPerRound * spans.count))
}
let gzipped = Gzip.compress(encoded).count
print("spans per batch: \(spans.count), trace request: \(encoded.count) bytes (\(encoded.count / spans.count) per span), "
      + "gzipped: \(gzipped) bytes (\(gzipped / spans.count) per span)")
print("encode, CPU time per span (best of \(rounds) rounds of \(batchesPerRound) batches):")
print("  traces: \(Int((best.traces * 1e9).rounded())) ns")
print("  logs:   \(Int((best.logs * 1e9).rounded())) ns")
print("  gzip of the trace request: \(Int((best.gzip * 1e9).rounded())) ns")
if bytes == 42 { print("") }  // keeps the work observable
