import Events
import Foundation
import Glibc
import Probe
import TestSupport
import Testing

extension ProbeTests {
    @Test("resets sent and received are reported on both ends")
    func resets() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net)
        let server = try Child(net.exec(net.server, ["python3", Repository.httpPeer, "reset-server", "8080"]))
        _ = try server.readJSON()
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "reset-client", net.serverAddress, "8080"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON()
        #expect(c.string("outcome") == "reset")
        let resets = recorder.events.compactMap { e -> ResetEvent? in if case .reset(let r) = e { return r } else { return nil } }
        #expect(resets.contains { $0.sent && $0.header.container == net.server && $0.header.tuple.local.port == 8080 })
        #expect(resets.contains { !$0.sent && $0.header.container == net.client && $0.header.tuple.remote.port == 8080 })
    }

    @Test("a pid filter keeps only that process's events")
    func pidFilter() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let server = try startServer(net, mode: "plain", bodyBytes: 200)
        var config = ProbeConfiguration()
        config.pids = [UInt32(server.pid)]
        let probe = try Probe(configuration: config)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let s = try server.readJSON()
        #expect(s.int("pid") == Int(server.pid), "ip netns exec runs the server in place")
        #expect(!recorder.data(pid: s.int("pid"), .ingress).isEmpty)
        #expect(recorder.events.allSatisfy { $0.header.pid == UInt32(server.pid) || $0.header.pid == 0 })
        #expect(recorder.events.contains { if case .data = $0 { return true } else { return false } })
    }

    @Test("a port filter keeps only connections with that port")
    func portFilter() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let resolver = ContainerResolver()
        var config = ProbeConfiguration()
        config.netns = Set([net.server, net.client].compactMap { resolver.netns(named: $0) })
        config.ports = [8081]
        let probe = try Probe(configuration: config, containers: resolver)
        let other = try startServer(net, mode: "plain", bodyBytes: 100, port: 8080)
        let wanted = try startServer(net, mode: "plain", bodyBytes: 100, port: 8081)
        let c1 = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        let c2 = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8081", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [c1, c2, other, wanted])
        let data = recorder.events.compactMap { e -> DataEvent? in if case .data(let d) = e { return d } else { return nil } }
        #expect(!data.isEmpty)
        #expect(data.allSatisfy { $0.header.tuple.local.port == 8081 || $0.header.tuple.remote.port == 8081 })
    }

    @Test("events lost to a full ring buffer are counted")
    func lostEvents() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let resolver = ContainerResolver()
        var config = ProbeConfiguration()
        config.netns = Set([net.server, net.client].compactMap { resolver.netns(named: $0) })
        config.ringBufferBytes = 4096
        let probe = try Probe(configuration: config, containers: resolver)
        // Many small reads and writes while nobody reads the ring buffer.
        let server = try startServer(net, mode: "vector", bodyBytes: 400_000)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "vector"]))
        client.wait()
        server.wait()
        var delivered = 0
        probe.drain { _ in delivered += 1 }
        let stats = probe.statistics
        #expect(stats.lostEvents > 0)
        #expect(delivered > 0)
        #expect(stats.events == UInt64(delivered))
    }

    @Test("IPv6 connections carry their IPv6 addresses and bytes")
    func ipv6() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net)
        let server = try startServer(net, mode: "plain", bodyBytes: 100, bind: "::")
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress6, "8080", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON()
        let writes = recorder.data(pid: c.int("pid"), .egress)
        #expect(byteDifference(writes.flatMap(\.payload), c.hexBytes("request")) == nil)
        #expect(writes.allSatisfy {
            $0.header.tuple.remote == Endpoint(address: IPAddress(net.serverAddress6)!, port: 8080)
                && $0.header.tuple.local.address == IPAddress(net.clientAddress6)!
        })
        #expect(!writes.isEmpty)
    }

    @Test("without root, pipetrace says it needs root and exits non-zero")
    func notRoot() throws {
        let tracer = try Child(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                Repository.pipetraceBinary, "events", "--time", "1"])
        #expect(tracer.wait() != 0)
        #expect(tracer.readAllErrors().contains("needs root"))
    }

    @Test("doctor lists the tracepoints it uses and loads the probe")
    func doctor() throws {
        let doctor = try Child([Repository.pipetraceBinary, "doctor"])
        let out = doctor.readAll()
        #expect(doctor.wait() == 0)
        #expect(out.contains("tracepoint syscalls/sys_enter_read"))
        #expect(out.contains("tp_btf/tcp_retransmit_skb"))
        #expect(out.contains("kprobes"))
        #expect(out.contains("probe: loaded and attached"))
    }
}

extension ProbeTests {
    @Test("a read already waiting when the probe attaches is still reported, its entry marked unseen")
    func readInProgressAtAttach() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let server = try startServer(net, mode: "plain", bodyBytes: 100)
        // The client connects now and sends once the probe is attached: the server sits in read() meanwhile.
        let go = NSTemporaryDirectory() + "pipetrace-go-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(go) }
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain", go]))
        usleep(500_000)
        let probe = try probe(net)
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON(), s = try server.readJSON()
        let reads = recorder.data(pid: s.int("pid"), .ingress)
        #expect(byteDifference(reads.flatMap(\.payload), c.hexBytes("request")) == nil)
        #expect(reads.first?.entryUnseen == true)
        #expect(reads.first.map { $0.enterTimestamp == $0.header.timestamp } == true)
        #expect(recorder.data(pid: c.int("pid"), .egress).allSatisfy { !$0.entryUnseen })
    }
}
