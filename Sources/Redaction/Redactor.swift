/// Replaces credentials with `*` in what pipetrace prints, writes and
/// exports, byte for byte: a value keeps its length, so framing
/// (Content-Length, chunk sizes, TCP lengths) stays true and what is
/// analysed is unchanged. Pure: bytes in, bytes out; the output edges
/// (event lines, records, capture files, exporters) apply it.
///
/// Each protocol's credentials are found by its `RedactionRule`; which
/// parameter and header names count as secrets is `names` (configurable).
/// `Redactor.disabled` (`--no-redact`) passes everything through.
public struct Redactor: Sendable {
    /// What a secret byte becomes.
    public static let mask = UInt8(ascii: "*")

    /// The rules of the protocols pipetrace parses. A new protocol appends its rule here.
    public static let standardRules: [any RedactionRule] = [HTTPCredentials()]

    /// Off: every value passes unchanged (`--no-redact`).
    public static let disabled = Redactor(enabled: false)

    public let isEnabled: Bool
    public let names: SecretNames
    public let rules: [any RedactionRule]

    public init(names: SecretNames = SecretNames(), rules: [any RedactionRule] = Redactor.standardRules) {
        self.init(enabled: true, names: names, rules: rules)
    }

    private init(enabled: Bool, names: SecretNames = SecretNames(), rules: [any RedactionRule] = Redactor.standardRules) {
        isEnabled = enabled
        self.names = names
        self.rules = rules
    }

    /// `bytes` with every credential masked; the same array (no copy) when there is none.
    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        redact(&out, in: 0..<out.count)
        return out
    }

    /// Masks the credentials of `bytes[range]` in place. Returns how many bytes it masked.
    @discardableResult
    public func redact(_ bytes: inout [UInt8], in range: Range<Int>) -> Int {
        guard isEnabled, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= bytes.count else { return 0 }
        var found: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { all in
            let part = UnsafeBufferPointer(rebasing: all[range])
            for rule in rules {
                rule.secrets(in: part, names: names) { r in
                    let r = r.clamped(to: 0..<part.count)
                    if !r.isEmpty { found.append(r) }
                }
            }
        }
        guard !found.isEmpty else { return 0 }
        var masked = 0
        for r in found {
            for i in (r.lowerBound + range.lowerBound)..<(r.upperBound + range.lowerBound) where bytes[i] != Redactor.mask {
                bytes[i] = Redactor.mask
                masked += 1
            }
        }
        return masked
    }

    /// A URL or request target (`/login?user=a&password=b`, `http://u:p@host/`)
    /// with its userinfo and secret query values masked.
    public func redact(target: String) -> String {
        guard isEnabled else { return target }
        // Most targets have neither a query nor userinfo: no copy for them.
        let plain = target.utf8.withContiguousStorageIfAvailable {
            !$0.contains(UInt8(ascii: "?")) && !$0.contains(UInt8(ascii: "@"))
        }
        if plain == true { return target }
        var bytes = Array(target.utf8)
        var found = false
        bytes.withUnsafeBufferPointer { b in
            HTTPCredentials.urlSecrets(in: b, range: 0..<b.count, names: names) { _ in found = true }
        }
        guard found else { return target }
        bytes.withUnsafeMutableBufferPointer { b in
            HTTPCredentials.urlSecrets(in: UnsafeBufferPointer(b), range: 0..<b.count, names: names) { r in
                for i in r { b[i] = Redactor.mask }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A header's value, masked as it would be in the bytes of a message.
    public func redact(header name: String, value: String) -> String {
        guard isEnabled else { return value }
        let line = Array("\(name): \(value)".utf8)
        let out = redact(line)
        guard out != line else { return value }
        return String(decoding: out.dropFirst(name.utf8.count + 2), as: UTF8.self)
    }
}
