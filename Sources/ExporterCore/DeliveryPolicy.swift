/// What a sink does after one attempt to deliver a batch: a 2xx is
/// delivered; 429 and 5xx, or no answer at all, are retried after a
/// backoff with jitter; any other status is rejected for good (the
/// receiver will never take those bytes) and counted as dropped. Shared by
/// every HTTP sink, so they all retry and count alike. A state machine with
/// no clock and no I/O: the random number is passed in, and the sender
/// thread (`HTTPDelivery`) does the sending and the waiting.
public struct DeliveryPolicy: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case delivered
        /// Dropped, counted under `reason`.
        case rejected(reason: String)
        /// Tried again after `after` seconds; the failure is counted under `reason`.
        case retry(reason: String, after: Double)
    }

    public private(set) var backoff: Backoff

    public init(backoff: Backoff = Backoff()) {
        self.backoff = backoff
    }

    /// The receiver answered with `status`. `random` is uniform in 0..<1 (the jitter of a retry).
    public mutating func answered(status: Int, random: Double) -> Outcome {
        switch status {
        case 200..<300:
            backoff.succeeded()
            return .delivered
        case 429, 500...:
            return failed(reason: "http_\(status)", random: random)
        default:
            return .rejected(reason: "rejected_http_\(status)")
        }
    }

    /// No answer (connect, timeout, TLS, a response cut short): `reason` says which.
    public mutating func failed(reason: String, random: Double) -> Outcome {
        .retry(reason: reason, after: backoff.failed(random: random))
    }
}
