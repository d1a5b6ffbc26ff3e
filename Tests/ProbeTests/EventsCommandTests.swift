import Foundation
import Glibc
import TestSupport
import Testing

extension ProbeTests {
    @Test("pipetrace events --json shows one container's traffic and detaches everything on Ctrl-C")
    func eventsCommand() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let server = try startServer(net, mode: "plain", bodyBytes: 300)
        let tracer = try Child([Repository.pipetraceBinary, "events", "--json", "--container", net.client])
        let ready = tracer.readErrorLine() ?? ""
        #expect(ready.contains("tracing"), "\(ready)")
        let ours = programs(heldBy: tracer.pid)
        #expect(ours.count >= 30, "the tracer holds its programs: \(ours.count)")
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        #expect(client.wait() == 0)
        server.wait()
        usleep(300_000)
        tracer.signal(SIGINT)
        #expect(tracer.wait() == 0)

        let c = try client.readJSON()
        let lines = tracer.readAll().split(separator: "\n")
        let events = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0["container"] as? String == net.client }, "only the client's namespace")
        let request = events.first { $0["type"] as? String == "data" && $0["direction"] as? String == "egress" }
        #expect(request?["payload"] as? String == String(decoding: c.hexBytes("request"), as: UTF8.self))
        // On the raw line, CR LF are escaped: one request line stays one grep-able line.
        #expect(lines.contains { $0.contains(#""payload":"GET /metrics?mode=plain HTTP/1.1\r\nHost: "#) })
        #expect(request?["pid"] as? Int == c.int("pid"))
        #expect(request?["remote"] as? String == "\(net.serverAddress):8080")
        #expect(events.contains { $0["type"] as? String == "open" && $0["role"] as? String == "client" })
        #expect(tracer.readAllErrors().contains(" 0 lost"))
        // Nothing of ours stays in the kernel. The kernel frees a closed
        // program after an RCU grace period, which a busy machine stretches: allow it up to 10 s.
        var left = try loadedPrograms().intersection(ours)
        for _ in 0..<200 where !left.isEmpty {
            usleep(50_000)
            left = try loadedPrograms().intersection(ours)
        }
        #expect(left.isEmpty, "programs still loaded: \(left.sorted())")
    }

    /// Ids of the BPF programs a process holds open (from /proc/PID/fdinfo),
    /// so that other tracers on the host do not count.
    func programs(heldBy pid: Int32) -> Set<Int> {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fdinfo")) ?? []
        return Set(fds.compactMap { fd in
            guard let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8) else { return nil }
            return info.split(separator: "\n").first { $0.hasPrefix("prog_id:") }
                .flatMap { Int($0.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) }
        })
    }

    /// Ids of the BPF programs loaded now.
    func loadedPrograms() throws -> Set<Int> {
        let json = try Shell.run(["bpftool", "-j", "prog", "show"])
        let programs = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
        return Set(programs.compactMap { $0["id"] as? Int })
    }

    @Test("pipetrace events refuses an unknown container with a clear message")
    func unknownContainer() throws {
        let tracer = try Child([Repository.pipetraceBinary, "events", "--container", "no-such-thing-\(getpid())"])
        #expect(tracer.wait() != 0)
        #expect(tracer.readAllErrors().contains("no container named"))
    }
}
