import ExporterCore
import Foundation

/// A sink's sender loop: posts its queue's batches in order, one at a
/// time, until the queue stops, doing what `DeliveryPolicy` says after
/// each attempt (and after a few failures in a row the queue spools what
/// it holds). The batches go over one kept-alive connection (`HTTPConnection`).
enum HTTPDelivery {
    /// Where one batch goes: the endpoint, the headers, and the body to send.
    typealias Request = (endpoint: HTTPEndpoint, headers: [(String, String)], body: ArraySlice<UInt8>)

    static func run(_ queue: DeliveryQueue, _ client: HTTPClient, _ initial: Backoff, _ request: (ExportBatch) -> Request) {
        var policy = DeliveryPolicy(backoff: initial)
        var random = SystemRandomNumberGenerator()
        let connection = client.connection()
        while let batch = queue.next() {
            let outcome: DeliveryPolicy.Outcome
            let jitter = Double.random(in: 0..<1, using: &random)
            do {
                let r = request(batch)
                let response = try connection.send("POST", r.endpoint, headers: r.headers, body: r.body)
                outcome = policy.answered(status: response.status, random: jitter)
            } catch {
                outcome = policy.failed(reason: error.reason, random: jitter)
            }
            switch outcome {
            case .delivered:
                queue.delivered(batch)
            case .rejected(let reason):
                queue.rejected(batch, reason: reason)
            case .retry(let reason, let wait):
                queue.failed(reason: reason)
                if queue.pause(wait) { return }
            }
        }
    }
}
