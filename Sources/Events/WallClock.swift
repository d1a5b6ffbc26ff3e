/// Maps the kernel's CLOCK_MONOTONIC timestamps to wall-clock time.
/// The offset is measured once by whoever reads the clocks (the probe);
/// the mapping itself is pure.
public struct WallClock: Sendable, Hashable {
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds.
    public var offsetNanoseconds: Int64

    public init(offsetNanoseconds: Int64) {
        self.offsetNanoseconds = offsetNanoseconds
    }

    /// Nanoseconds since the Unix epoch for a monotonic timestamp.
    public func unixNanoseconds(_ monotonic: UInt64) -> Int64 {
        Int64(bitPattern: monotonic) &+ offsetNanoseconds
    }

    /// RFC 3339 in UTC with nanoseconds: "2026-11-21T05:12:03.123456789Z".
    public func rfc3339(_ monotonic: UInt64) -> String {
        WallClock.rfc3339(unixNanoseconds: unixNanoseconds(monotonic))
    }

    public static func rfc3339(unixNanoseconds ns: Int64) -> String {
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let nanos = ns - seconds * 1_000_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secOfDay / 3600, 2)):\(pad(secOfDay / 60 % 60, 2)):\(pad(secOfDay % 60, 2)).\(pad(nanos, 9))Z"
    }
}
