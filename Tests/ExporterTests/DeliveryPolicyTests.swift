import ExporterCore
import Testing

@Suite("delivery policy: what a sink does after each attempt")
struct DeliveryPolicyTests {
    @Test("2xx is delivered; 429 and 5xx are retried; other statuses are rejected for good", arguments: [
        (200, DeliveryPolicy.Outcome.delivered),
        (204, .delivered),
        (429, .retry(reason: "http_429", after: 1)),
        (503, .retry(reason: "http_503", after: 1)),
        (400, .rejected(reason: "rejected_http_400")),
        (404, .rejected(reason: "rejected_http_404")),
        (413, .rejected(reason: "rejected_http_413")),
        (302, .rejected(reason: "rejected_http_302")),
    ])
    func statuses(status: Int, outcome: DeliveryPolicy.Outcome) {
        var policy = DeliveryPolicy(backoff: Backoff(initial: 1, maximum: 30))
        // random 1: the whole ceiling, the first retry's 1 s.
        #expect(policy.answered(status: status, random: 1) == outcome)
    }

    @Test("failures in a row wait twice as long up to the maximum, with jitter; a delivery starts over")
    func backoff() {
        var policy = DeliveryPolicy(backoff: Backoff(initial: 1, maximum: 4))
        let waits = (0..<4).map { _ in policy.failed(reason: "connect", random: 0) }
        #expect(waits == [.retry(reason: "connect", after: 0.5), .retry(reason: "connect", after: 1),
                          .retry(reason: "connect", after: 2), .retry(reason: "connect", after: 2)])
        #expect(policy.answered(status: 500, random: 1) == .retry(reason: "http_500", after: 4))
        #expect(policy.answered(status: 200, random: 0) == .delivered)
        #expect(policy.failed(reason: "timeout", random: 0.5) == .retry(reason: "timeout", after: 0.75))
        // A rejection is the receiver's answer, not an outage: the backoff is left as it is.
        #expect(policy.answered(status: 400, random: 0) == .rejected(reason: "rejected_http_400"))
        #expect(policy.backoff.failures == 1)
    }
}
