/// A request target reduced to a label value with bounded cardinality:
/// the query is dropped, path segments that look like identifiers become
/// placeholders (`/api/v1/users/123/items/9f1c…` → `/api/v1/users/{id}/items/{id}`),
/// and only the first `maxSegments` segments are kept (`/a/b/c/d/…`).
///
/// Segments counted as identifiers: those with a digit that are all digits,
/// hex, or UUID/hex-with-dashes, and any segment of 32 characters or more.
public enum TargetTemplate {
    /// The templated path of `target` ("*" for an absolute-form target's path is kept as is).
    public static func make(_ target: String?, maxSegments: Int = 4) -> String {
        guard var path = target, !path.isEmpty else { return "" }
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<q]) }
        // Absolute form (proxies): keep the path only.
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
            let rest = path.drop { $0 != "/" }.dropFirst(2)
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        guard path.hasPrefix("/") else { return path == "*" ? "*" : "{other}" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var out: [Substring] = []
        for (i, segment) in segments.enumerated() {
            if i == maxSegments { out.append("…"); break }
            out.append(isIdentifier(segment) ? "{id}" : segment)
        }
        return "/" + out.joined(separator: "/")
    }

    static func isIdentifier(_ segment: Substring) -> Bool {
        if segment.utf8.count >= 32 { return true }
        var digits = 0
        for c in segment.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "-"): continue
            default: return false
            }
        }
        // "add", "beef", "dead-face" stay words; "123", "9f1c2e" are ids.
        return digits > 0
    }
}
