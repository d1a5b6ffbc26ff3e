import Foundation
import Glibc
import Testing

extension ProbeTests {
    @Test("pipetrace events --json shows one container's traffic and detaches everything on Ctrl-C")
    func eventsCommand() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let server = try startServer(net, mode: "plain", bodyBytes: 300)
        let programsBefore = try loadedPrograms()
        let tracer = try Child([Repository.pipetraceBinary, "events", "--json", "--container", net.client])
        let ready = tracer.readErrorLine() ?? ""
        #expect(ready.contains("tracing"), "\(ready)")
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
        // Nothing of ours stays in the kernel (other tracers' programs may come and go).
        // The kernel frees a closed program after an RCU grace period: allow it a moment.
        var left = try loadedPrograms().subtracting(programsBefore)
        for _ in 0..<40 where !left.isEmpty {
            usleep(50_000)
            left = try loadedPrograms().subtracting(programsBefore)
        }
        #expect(left.isEmpty, "programs still loaded: \(left.sorted())")
    }

    /// Ids of the BPF programs loaded now that carry pipetrace's program names.
    func loadedPrograms() throws -> Set<Int> {
        let json = try Shell.run(["bpftool", "-j", "prog", "show"])
        let programs = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
        return Set(programs.compactMap { p in
            guard let name = p["name"] as? String, name.hasPrefix("handle_") || name.hasPrefix("capture_") else { return nil }
            return p["id"] as? Int
        })
    }

    @Test("pipetrace events refuses an unknown container with a clear message")
    func unknownContainer() throws {
        let tracer = try Child([Repository.pipetraceBinary, "events", "--container", "no-such-thing-\(getpid())"])
        #expect(tracer.wait() != 0)
        #expect(tracer.readAllErrors().contains("no container named"))
    }
}
