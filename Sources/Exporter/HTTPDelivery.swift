import ExporterCore
import Foundation

/// A sink's sender loop: posts its queue's batches in order, one at a
/// time, until the queue stops. 2xx is delivered; 429 and 5xx are retried
/// after a backoff with jitter (and after a few failures in a row the
/// queue spools what it holds); other 4xx are rejected for good (the
/// receiver will never take those bytes) and counted as dropped. Shared by
/// every HTTP sink, so they all retry, spool and count alike. The batches
/// go over one kept-alive connection (`HTTPConnection`).
enum HTTPDelivery {
    /// Where one batch goes: the endpoint, the headers, and the body to send.
    typealias Request = (endpoint: HTTPEndpoint, headers: [(String, String)], body: ArraySlice<UInt8>)

    static func run(_ queue: DeliveryQueue, _ client: HTTPClient, _ initial: Backoff, _ request: (ExportBatch) -> Request) {
        var backoff = initial
        var random = SystemRandomNumberGenerator()
        let connection = client.connection()
        while let batch = queue.next() {
            let reason: String
            do {
                let r = request(batch)
                let response = try connection.send("POST", r.endpoint, headers: r.headers, body: r.body)
                switch response.status {
                case 200..<300:
                    queue.delivered(batch)
                    backoff.succeeded()
                    continue
                case 429, 500...:
                    reason = "http_\(response.status)"
                default:
                    queue.rejected(batch, reason: "rejected_http_\(response.status)")
                    continue
                }
            } catch {
                reason = error.reason
            }
            queue.failed(reason: reason)
            if queue.pause(backoff.failed(random: Double.random(in: 0..<1, using: &random))) { break }
        }
    }
}
