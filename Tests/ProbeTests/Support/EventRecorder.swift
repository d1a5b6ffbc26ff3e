import TestSupport
import Events
import Foundation
import Probe

/// Polls a probe while test processes run, keeping every event.
struct EventRecorder {
    private(set) var events: [ProbeEvent] = []

    /// Polls until every child has exited, then a little longer so the
    /// ring buffer is empty (events of a process's last syscalls).
    mutating func record(_ probe: Probe, until children: [Child], timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while children.contains(where: \.isRunning), Date() < deadline {
            try probe.poll(timeoutMilliseconds: 50) { events.append($0) }
        }
        let settle = Date().addingTimeInterval(0.3)
        while Date() < settle {
            try probe.poll(timeoutMilliseconds: 50) { events.append($0) }
        }
        probe.drain { events.append($0) }
    }

    func data(pid: Int, _ direction: Direction) -> [DataEvent] {
        events.compactMap {
            guard case .data(let d) = $0, d.header.pid == UInt32(pid), d.direction == direction else { return nil }
            return d
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int { (self[key] as? NSNumber)?.intValue ?? -1 }
    func string(_ key: String) -> String { self[key] as? String ?? "" }
    /// A field the peer wrote as hex, as bytes.
    func hexBytes(_ key: String) -> [UInt8] {
        let hex = Array(string(key).utf8)
        return stride(from: 0, to: hex.count - 1, by: 2).map { i in
            UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0
        }
    }
}

/// Where two byte strings first differ, or nil when they are equal: a
/// failure message a person can read instead of two dumped arrays.
func byteDifference(_ seen: [UInt8], _ expected: [UInt8]) -> String? {
    guard seen != expected else { return nil }
    let same = zip(seen, expected).prefix { $0 == $1 }.count
    func around(_ b: [UInt8]) -> String {
        String(decoding: b[max(0, same - 20)..<min(b.count, same + 20)], as: UTF8.self).debugDescription
    }
    return "\(seen.count) bytes seen, \(expected.count) expected, first difference at \(same): seen \(around(seen)), expected \(around(expected))"
}
