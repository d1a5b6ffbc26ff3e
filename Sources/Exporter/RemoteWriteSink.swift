import ExporterCore
import Foundation

/// Prometheus remote write 1.0: each export interval's samples as
/// snappy-compressed `WriteRequest`s of at most `maxSamplesPerBatch`,
/// POSTed in order by a thread of its own, with retries (exponential
/// backoff, jitter) and the disk spool of its `DeliveryQueue` behind them.
/// 2xx is delivered; 429 and 5xx are retried; other 4xx are rejected for
/// good (the receiver will never take those bytes) and counted as dropped.
public final class RemoteWriteSink: ExportSink {
    public let name: String
    public let endpoint: HTTPEndpoint
    public let maxSamplesPerBatch: Int
    private let queue: DeliveryQueue
    private let client: HTTPClient
    private let finished = DispatchSemaphore(value: 0)

    public init(endpoint: HTTPEndpoint, queue: DeliveryQueue, client: HTTPClient, backoff: Backoff = Backoff(),
                maxSamplesPerBatch: Int = 5000) {
        name = endpoint.description
        self.endpoint = endpoint
        self.queue = queue
        self.client = client
        self.maxSamplesPerBatch = max(1, maxSamplesPerBatch)
        let thread = Thread { [queue, client, endpoint, finished] in
            RemoteWriteSink.deliver(queue, client, endpoint, backoff)
            finished.signal()
        }
        thread.start()
    }

    public static let headers = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ]

    public func send(_ series: [TimeSeries]) {
        var start = 0
        while start < series.count {
            var end = start
            var points = 0
            while end < series.count, points + series[end].samples.count <= maxSamplesPerBatch || end == start {
                points += series[end].samples.count
                end += 1
            }
            let request = RemoteWriteRequest(timeSeries: Array(series[start..<end]))
            queue.append(body: Snappy.compress(request.encoded()), points: points)
            start = end
        }
    }

    public var health: SinkHealth { queue.snapshot }

    public func flush(timeout: Double) {
        queue.stop(within: timeout)
        finished.wait()
        queue.spillAll()
    }

    static func deliver(_ queue: DeliveryQueue, _ client: HTTPClient, _ endpoint: HTTPEndpoint, _ initial: Backoff) {
        HTTPDelivery.run(queue, client, initial) { batch in (endpoint, headers, batch.body[...]) }
    }
}
