import Events

/// Numbers and times as the report prints them.
enum Format {
    /// `value` with exactly `decimals` digits after the point.
    static func decimal(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale: Int64 = 1
        for _ in 0..<max(0, decimals) { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9e18 else { return value < 0 ? "-huge" : "huge" }
        let n = Int64(scaled)
        var text = (value < 0 && n > 0 ? "-" : "") + String(n / scale)
        if decimals > 0 {
            let fraction = String(n % scale)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// Nanoseconds as milliseconds to three significant digits ("0.0421", "4.21", "421", "4210").
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let ms = Double(nanoseconds) / 1e6
        let decimals = ms >= 100 ? 0 : ms >= 10 ? 1 : ms >= 1 ? 2 : ms >= 0.1 ? 3 : 4
        return decimal(ms, decimals)
    }

    static func milliseconds(_ nanoseconds: UInt64?) -> String {
        nanoseconds.map { milliseconds($0) } ?? "-"
    }

    /// "12:03:04.567", or "2026-11-21 12:03:04.567" with the date (UTC).
    static func clock(_ unixNanoseconds: Int64, withDate: Bool) -> String {
        let text = WallClock.rfc3339(unixNanoseconds: unixNanoseconds)
        let time = text.dropFirst(11).prefix(12)
        return withDate ? "\(text.prefix(10)) \(time)" : String(time)
    }
}
