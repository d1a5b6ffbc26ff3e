import Analyzer
import ExporterCore
import Foundation
import Synchronization

/// OTLP over HTTP (protobuf): every request record as a span, the hop
/// chain as parent and child spans of one trace (`SpanLinker`), and slow
/// requests also as log records. Spans go to `<base>/v1/traces`, logs to
/// `<base>/v1/logs` (an OpenTelemetry collector, SigNoz, OpenObserve).
///
/// Spans are batched (`maxSpansPerBatch`, and whatever is ready at each
/// export interval) and delivered like remote write: one `DeliveryQueue`
/// (memory, then the disk spool), one sender thread, `HTTPDelivery`'s
/// retries. Traces and logs share the queue so they replay in one order;
/// each body starts with one byte naming its signal and whether it is
/// gzipped, stripped before sending (so a spool written with another
/// `compression` still replays right). Bodies are gzipped by default, as
/// the OpenTelemetry collector's exporter does: spans repeat their
/// attribute keys, and a batch shrinks many times over (bench/OTLPEncodeBenchmark:
/// 640 kB of spans to ~46 kB with igzip's level 1, for about 130 ns per span).
/// Points, in the health series, are spans plus log records (a record seen
/// from both ends is two spans, CLIENT and SERVER).
///
/// The turns of TCP connections no parser recognized (protocol `tcp`) are
/// not requests, and a busy unparsed connection (a database, a cache) has
/// thousands a second: they are metrics only unless `flowSpans`. They are
/// still linked, so a request made while serving one stays in its trace.
public final class OTLPSink: ExportSink {
    /// The first byte of a queued body: which OTLP path it goes to
    /// (`Signal`), plus `gzipped` when the rest is gzip.
    enum Signal: UInt8 {
        case traces = 1, logs = 2
    }

    static let gzipped: UInt8 = 0x10

    /// `Content-Encoding` of the bodies sent (in the core, where the configuration names it).
    public typealias Compression = OTLPCompression

    struct State {
        var linker: SpanLinker
        var batch: Batch
    }

    /// The batch being built, where `SpanLinker` puts the spans it links:
    /// each is encoded as it comes (no array of spans in between). A batch
    /// that reaches `maxSpans` is finished into `bodies`, for the sink to queue.
    struct Batch: SpanSink {
        var encoder = OTLPEncoder()
        let gzip = Gzip()
        let compression: Compression
        let slowThreshold: UInt64
        let maxSpans: Int
        let flowSpans: Bool
        /// Finished bodies (`body`) and their points, in order.
        var bodies: [(body: [UInt8], points: Int)] = []

        mutating func take(_ span: borrowing OTLPSpan) {
            guard flowSpans || span.record.protocolName != TCPFlowParser.protocolName else { return }
            encoder.add(span, slowThreshold: slowThreshold)
            if encoder.spanCount >= maxSpans { finish() }
        }

        /// The batch built so far, if any, as a traces body (and a logs body for the slow ones) in `bodies`.
        mutating func finish() {
            guard encoder.spanCount > 0 else { return }
            let spans = encoder.spanCount
            let (gzip, compression) = (self.gzip, self.compression)
            var done: [(body: [UInt8], points: Int)] = []
            // Compressed at once: the encoder's buffer is reused for the next request.
            encoder.finish(traces: { done.append((Self.body(.traces, $0, compression, gzip), spans)) },
                           logs: { done.append((Self.body(.logs, $0, compression, gzip), $1)) })
            bodies += done
        }

        /// A queued body: its first byte, then the request (gzipped when so configured).
        static func body(_ signal: Signal, _ request: OTLPEncoder.EncodedRequest, _ compression: Compression,
                         _ gzip: Gzip) -> [UInt8] {
            switch compression {
            case .gzip: gzip.compress(request.pieces, after: [signal.rawValue | OTLPSink.gzipped])
            case .none: [signal.rawValue] + request.pieces.joined()
            }
        }
    }

    public let name: String
    public let tracesEndpoint: HTTPEndpoint
    public let logsEndpoint: HTTPEndpoint
    public let maxSpansPerBatch: Int
    public let compression: Compression
    /// Whether tcp flows' turns are spans too.
    public let flowSpans: Bool
    private let state: Mutex<State>
    private let clock: @Sendable () -> Int64
    private let queue: DeliveryQueue
    private let finished = DispatchSemaphore(value: 0)

    public static let headers = [("Content-Type", "application/x-protobuf")]
    public static let gzipHeaders = headers + [("Content-Encoding", "gzip")]

    /// `endpoint`: the base URL (`http://host:4318`) or the traces URL
    /// (`…/v1/traces`). `slowThreshold`: nanoseconds from which a request is
    /// also a log record. `clock`: nanoseconds, for how long a child waits for its parent.
    public init(endpoint: HTTPEndpoint, queue: DeliveryQueue, client: HTTPClient, backoff: Backoff = Backoff(),
                slowThreshold: UInt64, maxSpansPerBatch: Int = 1000, compression: Compression = .gzip,
                flowSpans: Bool = false, linker: SpanLinker = SpanLinker(salt: UInt64.random(in: 0...UInt64.max)),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) }) {
        (tracesEndpoint, logsEndpoint) = Self.endpoints(endpoint)
        name = tracesEndpoint.description
        self.queue = queue
        self.maxSpansPerBatch = max(1, maxSpansPerBatch)
        self.compression = compression
        self.flowSpans = flowSpans
        self.clock = clock
        state = Mutex(State(linker: linker, batch: Batch(compression: compression, slowThreshold: slowThreshold,
                                                         maxSpans: self.maxSpansPerBatch, flowSpans: flowSpans)))
        let thread = Thread { [queue, client, tracesEndpoint, logsEndpoint, finished] in
            HTTPDelivery.run(queue, client, backoff) { batch in
                let first = batch.body.first ?? 0
                let signal = Signal(rawValue: first & ~OTLPSink.gzipped) ?? .traces
                return (signal == .logs ? logsEndpoint : tracesEndpoint,
                        first & OTLPSink.gzipped != 0 ? OTLPSink.gzipHeaders : OTLPSink.headers, batch.body.dropFirst())
            }
            finished.signal()
        }
        thread.start()
    }

    /// The traces and logs URLs for what the user gave: a base gets
    /// `/v1/traces` and `/v1/logs` appended (as OTEL_EXPORTER_OTLP_ENDPOINT);
    /// a URL ending in `/v1/traces` or `/v1/logs` is taken as that signal's.
    public static func endpoints(_ url: HTTPEndpoint) -> (traces: HTTPEndpoint, logs: HTTPEndpoint) {
        var base = url.path
        for suffix in ["/v1/traces", "/v1/logs"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        while base.hasSuffix("/") { base.removeLast() }
        var traces = url, logs = url
        traces.path = base + "/v1/traces"
        logs.path = base + "/v1/logs"
        return (traces, logs)
    }

    public var takesRecords: Bool { true }

    public func record(_ record: consuming RequestRecord) {
        let now = clock()
        // Moved into the lock's closure through an optional: a closure captures
        // the parameter by reference, and the linker would get a copy of it.
        var taken: RequestRecord? = consume record
        state.withLock { s in
            s.linker.add(taken.take()!, now: now, into: &s.batch)
            enqueue(&s.batch)
        }
    }

    /// At each export interval: what is ready (and children that waited too long for their parent) goes.
    public func send(_ series: [TimeSeries]) {
        let now = clock()
        state.withLock { s in
            for span in s.linker.expire(now: now) { s.batch.take(span) }
            s.batch.finish()
            enqueue(&s.batch)
        }
    }

    public var health: SinkHealth { queue.snapshot }

    public func flush(timeout: Double) {
        state.withLock { s in
            for span in s.linker.drain() { s.batch.take(span) }
            s.batch.finish()
            enqueue(&s.batch)
        }
        queue.stop(within: timeout)
        finished.wait()
        queue.spillAll()
    }

    /// The batch's finished bodies, onto the queue.
    private func enqueue(_ batch: inout Batch) {
        guard !batch.bodies.isEmpty else { return }
        for (body, points) in batch.bodies { queue.append(body: body, points: points) }
        batch.bodies.removeAll(keepingCapacity: true)
    }
}
