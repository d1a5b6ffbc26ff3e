// The OTLP sink's cost per span: records of hop chains like the demo's
// (collector → lb → storage) linked into spans (`SpanLinker`), encoded into
// `ExportTraceServiceRequest`/`ExportLogsServiceRequest` bytes in batches of
// the sink's default size with one `OTLPEncoder` kept across batches (as the
// sink does), and gzipped, on one core. Prints CPU time per span (user+sys
// of the process, so a shared machine's other load does not count), best of
// several rounds; the sink's path is link + traces + gzip (+ logs and their
// gzip for the slow records, rare in a healthy pipeline).
//
//   swift run -c release OTLPEncodeBenchmark [rounds] [batches-per-round]
import Analyzer
import ExporterCore
import Glibc

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7 : 7
let batchesPerRound = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 50 : 50
let batchSize = 1000

/// One linker for every batch, as the sink keeps one; record ids go on from batch to batch.
var linker = SpanLinker(salt: 1)
var id: UInt64 = 1

/// The records of one batch: chains of a merged hop (both ends traced) and its client-only child, the child first
/// (as the analyzer emits them: it completes first).
@MainActor func records() -> [RequestRecord] {
    var records: [RequestRecord] = []
    records.reserveCapacity(batchSize)
    // Three spans per pair of records.
    while records.count / 2 * 3 < batchSize {
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
        records += [child, parent]
        id += 2
    }
    return records
}

/// One batch of spans, linked into an array.
@MainActor func batch() -> [OTLPSpan] {
    var spans: [OTLPSpan] = []
    spans.reserveCapacity(batchSize + 2)
    for record in records() { linker.add(record, now: 0, into: &spans) }
    return spans
}

/// What the sink does: each span encoded as the linker hands it over, no array of spans in between.
struct Encoding: SpanSink {
    var encoder = OTLPEncoder()

    mutating func take(_ span: borrowing OTLPSpan) { encoder.add(span, slowThreshold: .max) }
}
var encoding = Encoding()

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

let spans = batch()
var encoder = OTLPEncoder()
var bytes = 0
var best = (link: Double.infinity, traces: Double.infinity, logs: Double.infinity, gzip: Double.infinity, records: Double.infinity,
            sink: Double.infinity)
let encoded = OTLPTraceRequest(spans: spans).encoded()
// One compressor kept across batches, as the sink keeps one.
let gzip = Gzip()
func measure(_ best: inout Double, _ body: () -> Void) {
    let start = cpuSeconds()
    for _ in 0..<batchesPerRound { body() }
    best = min(best, (cpuSeconds() - start) / Double(batchesPerRound * spans.count))
}
for _ in 0..<rounds {
    measure(&best.records) { bytes &+= records().count }
    measure(&best.link) { bytes &+= batch().count }
    measure(&best.sink) {
        for record in records() { linker.add(record, now: 0, into: &encoding) }
        encoding.encoder.finish(traces: { bytes &+= $0.pieces.reduce(0) { $0 + $1.count } }, logs: { _, _ in })
    }
    measure(&best.traces) { bytes &+= encoder.traces(spans).count }
    measure(&best.logs) { bytes &+= encoder.logs(spans, threshold: 0).count }
    measure(&best.gzip) { bytes &+= gzip.compress(encoded).count }
}
let gzipped = gzip.compress(encoded).count
func ns(_ seconds: Double) -> String { "\(Int((seconds * 1e9).rounded())) ns" }
print("spans per batch: \(spans.count), trace request: \(encoded.count) bytes (\(encoded.count / spans.count) per span), "
      + "gzipped: \(gzipped) bytes (\(gzipped / spans.count) per span)")
print("CPU time per span (best of \(rounds) rounds of \(batchesPerRound) batches):")
print("  records (made for the benchmark): \(ns(best.records))")
print("  link (SpanLinker, into an array, records included): \(ns(best.link))")
print("  traces:            \(ns(best.traces))")
print("  gzip of traces:    \(ns(best.gzip))")
print("  link + traces one span at a time, as the sink does (records included): \(ns(best.sink))")
print("  sink path (that + gzip, records excluded): \(ns(best.sink - best.records + best.gzip))")
print("  logs (a slow record's log record): \(ns(best.logs))")
if bytes == 42 { print("") }  // keeps the work observable
