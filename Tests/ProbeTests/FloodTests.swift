import Foundation
import Glibc
import TestSupport
import Testing

/// Many connections at once through two traced namespaces (bench/flood/flood.c,
/// the load generator of bench/flood.sh at a small scale): `stat` follows at
/// most --max-connections, counts the ones it evicts, and its memory stays put.
extension ProbeTests {
    @Test("stat under a flood of connections past --max-connections counts its evictions and keeps its memory bounded")
    func connectionFlood() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let flood = dir.path + "/flood"
        let compiler = try #require(Repository.which("cc") ?? Repository.which("clang"), "no C compiler")
        _ = try Shell.run([compiler, "-O2", "-o", flood, Repository.root.appendingPathComponent("bench/flood/flood.c").path])
        let server = try Child(net.exec(net.server, [flood, "server", "8080"]))
        defer { server.signal(SIGKILL); _ = server.wait() }
        #expect(try server.readJSON()["ready"] as? Bool == true)
        let stat = try Child([Repository.pipetraceBinary, "stat", "--json", "--time", "120", "--max-connections", "256",
                              "--group-by", "target", "--container", net.server, "--container", net.client])
        #expect((stat.readErrorLine() ?? "").contains("collecting"))
        // 1000 connections held open (2000 sockets traced, both ends), then 5000 short ones.
        let hold = try Child(net.exec(net.client, [flood, "hold", net.serverAddress, "8080", "1000", "3"]))
        let held = try hold.readJSON()
        #expect(held["open"] as? Int == 1000, "\(held)")
        let peakWhileHeld = try peakResidentKiB(stat.pid)
        #expect(hold.wait() == 0)
        let churn = try Child(net.exec(net.client, [flood, "churn", net.serverAddress, "8080", "5000", "60"]))
        let churned = try churn.readJSON()
        #expect(churn.wait() == 0 && churned["completed"] as? Int == 5000, "\(churned)")
        usleep(500_000)
        let peak = try peakResidentKiB(stat.pid)
        stat.signal(SIGINT)
        let output = stat.readAll()
        #expect(stat.wait() == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let evicted = try #require(report["connections_evicted"] as? Int)
        // 2000 sockets held open and at most 256 followed at a time: all but 256 evicted at least once (a socket
        // evicted comes back with its next event, so the count can exceed the 12000 sockets that went by).
        #expect(evicted >= 2000 - 256, "\(evicted) evicted")
        let groups = report["groups"] as? [[String: Any]] ?? []
        let requests = groups.first { $0["key"] as? String == "GET /flood" }?["count"] as? Int ?? 0
        #expect(requests > 0, "\(groups)")
        // What 5000 more connections after the 1000 held added to the peak: the table stays at 256 connections.
        #expect(peak - peakWhileHeld < 16 << 10, "peak RSS \(peakWhileHeld) KiB while held, \(peak) KiB after the churn")
        #expect(peak < 256 << 10, "peak RSS \(peak) KiB")
    }

    /// VmHWM of a process: the most resident memory it has had, in KiB.
    func peakResidentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""))
    }
}
