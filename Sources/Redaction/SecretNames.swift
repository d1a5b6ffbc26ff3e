/// Which names (query parameters, form fields, headers) hold credentials.
/// A name is secret when, lowercased, it is one of the words, or one of its
/// parts is: parts are split at `_`, `-`, `.` and lower→upper case changes,
/// so `api_key`, `X-Api-Key`, `accessToken` and `X-Amz-Signature` all count.
public struct SecretNames: Sendable, Hashable {
    /// The default words: passwords, tokens, keys, signatures, session ids, cookies, authorization.
    public static let defaultWords: Set<String> = [
        "password", "passwd", "pwd", "pass", "passphrase", "token", "secret", "key", "apikey", "signature", "sig",
        "auth", "authorization", "credential", "credentials", "cookie", "session", "sessionid", "sid", "jwt",
        "bearer", "private",
    ]

    /// Names whose parts include a word but that are addresses, not credentials: a message
    /// broker's routing key (`routing_key`, AMQP's `amqp.routing_key`) says where a message goes.
    /// Compared with the name's end, lowercased and without separators.
    static let addressSuffixes = ["routingkey"]

    public private(set) var words: Set<String>

    /// `extra`: more words (lowercase or not) on top of `defaultWords`.
    public init(extra: some Sequence<String> = [String]()) {
        words = SecretNames.defaultWords.union(extra.map { $0.lowercased() })
    }

    /// Whether the name in `bytes` (ASCII; anything else never matches a word) is a secret's.
    public func isSecret(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        var whole = ""
        var part = ""
        whole.reserveCapacity(bytes.count)
        var previousLower = false
        for b in bytes {
            let isUpper = b >= 0x41 && b <= 0x5a
            let isSeparator = b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
            if isSeparator || (isUpper && previousLower) {
                if words.contains(part) { return true }
                part.removeAll(keepingCapacity: true)
            }
            previousLower = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
            if isSeparator { continue }
            let lower = Character(Unicode.Scalar(isUpper ? b + 0x20 : b))
            part.append(lower)
            whole.append(lower)
        }
        if Self.addressSuffixes.contains(where: { whole.hasSuffix($0) }) { return false }
        return words.contains(part) || words.contains(whole)
    }

    public func isSecret(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { isSecret($0) }
    }
}
