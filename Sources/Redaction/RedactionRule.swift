/// Where one protocol's credentials sit in its bytes: the seam where a
/// protocol adds what must never be printed (HTTP's Authorization and
/// Cookie headers today; Kafka's SASL and AMQP's PLAIN frames when their
/// parsers land are one more conforming type each, registered in
/// `Redactor.standardRules`).
///
/// What every rule promises:
/// - it reads `bytes` alone (no state between calls, no I/O) and never traps,
///   whatever the bytes (they come from the network);
/// - it reports the ranges of credential *values* only: names, separators
///   and framing (lengths, delimiters) stay, so the redacted bytes parse the
///   same way and analysis is unchanged;
/// - ranges are within `bytes.indices`; overlapping or repeated ranges are fine.
public protocol RedactionRule: Sendable {
    /// Calls `secret` with each range of `bytes` that holds a credential.
    /// `names` says which parameter and header names count as secrets.
    func secrets(in bytes: UnsafeBufferPointer<UInt8>, names: SecretNames, _ secret: (Range<Int>) -> Void)
}
