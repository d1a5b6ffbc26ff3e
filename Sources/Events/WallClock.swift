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
        var w = JSONWriter(capacity: 40)
        w.field("", unixNanoseconds: ns)
        // The writer produced `"":"<time>"`; keep the time.
        return String(decoding: w.bytes.dropFirst(4).dropLast(), as: UTF8.self)
    }
}

/// A Unix time split into UTC calendar fields (proleptic Gregorian).
public struct CivilTime: Sendable, Hashable {
    public var year: Int64, month: Int64, day: Int64
    public var hour: Int64, minute: Int64, second: Int64, nanosecond: Int64

    public init(unixNanoseconds ns: Int64) {
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        nanosecond = ns - seconds * 1_000_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        hour = secOfDay / 3600
        minute = secOfDay / 60 % 60
        second = secOfDay % 60
        // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}
