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
    static let addressSuffixes = [Array("routingkey".utf8)]

    public private(set) var words: Set<String>
    /// `words` as bytes, by length: what `isSecret` compares a name's parts
    /// with, per header and per query parameter, without making strings.
    private let wordsByLength: [[[UInt8]]]

    /// `extra`: more words (lowercase or not) on top of `defaultWords`.
    public init(extra: some Sequence<String> = [String]()) {
        words = SecretNames.defaultWords.union(extra.map { $0.lowercased() })
        var byLength = [[[UInt8]]](repeating: [], count: 1 + (words.map(\.utf8.count).max() ?? 0))
        for word in words.sorted() { byLength[word.utf8.count].append(Array(word.utf8)) }
        wordsByLength = byLength
    }

    /// Whether the name in `bytes` (ASCII; anything else never matches a word) is a secret's.
    public func isSecret(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count) { whole in
            // `whole`: the name lowercased without its separators; a part is a piece of it.
            var count = 0, partStart = 0
            var previousLower = false
            for b in bytes {
                let isUpper = b >= 0x41 && b <= 0x5a
                let isSeparator = b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
                if isSeparator || (isUpper && previousLower) {
                    if isWord(UnsafeBufferPointer(rebasing: whole[partStart..<count])) { return true }
                    partStart = count
                }
                previousLower = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
                if isSeparator { continue }
                whole[count] = isUpper ? b + 0x20 : b
                count += 1
            }
            let name = UnsafeBufferPointer(rebasing: whole[0..<count])
            if Self.addressSuffixes.contains(where: { name.count >= $0.count && name.suffix($0.count).elementsEqual($0) }) { return false }
            return isWord(UnsafeBufferPointer(rebasing: whole[partStart..<count])) || isWord(name)
        }
    }

    private func isWord(_ lowercased: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lowercased.count < wordsByLength.count else { return false }
        return wordsByLength[lowercased.count].contains { $0.elementsEqual(lowercased) }
    }

    public func isSecret(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { isSecret($0) }
    }
}
