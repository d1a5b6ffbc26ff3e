import Events
import Foundation
import Glibc
import Probe
import TestSupport
import Testing

@Suite("Probe on the real kernel (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct ProbeTests {
    /// A probe that sees only the test's own namespaces.
    func probe(_ net: TestNetwork, payloadCap: Int = 4096, sendfileBytes: Bool = true) throws -> Probe {
        let resolver = ContainerResolver()
        var config = ProbeConfiguration()
        config.payloadCap = payloadCap
        config.sendfileBytes = sendfileBytes
        config.netns = Set([net.server, net.client].compactMap { resolver.netns(named: $0) })
        #expect(config.netns.count == 2)
        return try Probe(configuration: config, containers: resolver)
    }

    func startServer(_ net: TestNetwork, mode: String, bodyBytes: Int, port: Int = 8080, bind: String = "0.0.0.0") throws -> Child {
        let server = try Child(net.exec(net.server, ["python3", Repository.httpPeer, "server", "\(port)", mode, "\(bodyBytes)", bind]))
        let ready = try server.readJSON()
        #expect(ready["ready"] as? Bool == true)
        return server
    }

    @Test("sees the exact request and response bytes, 4-tuple, pids, comms and containers",
          arguments: [("plain", Syscall.write, Syscall.read), ("vector", .writev, .readv), ("msg", .sendmsg, .recvmsg),
                       ("mmsg", .sendmmsg, .recvmmsg)])
    func exactBytes(mode: String, writeCall: Syscall, readCall: Syscall) throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net)
        let server = try startServer(net, mode: mode, bodyBytes: 1500)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", mode]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON(), s = try server.readJSON()
        let request = c.hexBytes("request"), response = c.hexBytes("response")
        #expect(request.count > 40 && response.count > 1500)
        #expect(byteDifference(s.hexBytes("request"), request) == nil)
        #expect(byteDifference(s.hexBytes("response"), response) == nil)

        let clientPort = UInt16(((c["local"] as? [Any])?[1] as? NSNumber)?.intValue ?? 0)
        let clientEnd = Endpoint(address: IPAddress(net.clientAddress)!, port: clientPort)
        let serverEnd = Endpoint(address: IPAddress(net.serverAddress)!, port: 8080)

        let sides: [(json: [String: Any], container: String, tuple: SocketTuple, sent: [UInt8], received: [UInt8])] = [
            (c, net.client, SocketTuple(local: clientEnd, remote: serverEnd), request, response),
            (s, net.server, SocketTuple(local: serverEnd, remote: clientEnd), response, request),
        ]
        for side in sides {
            let pid = side.json.int("pid")
            let writes = recorder.data(pid: pid, .egress), reads = recorder.data(pid: pid, .ingress)
            #expect(!writes.isEmpty && !reads.isEmpty)
            #expect(byteDifference(writes.flatMap(\.payload), side.sent) == nil, "bytes \(side.container) wrote")
            #expect(byteDifference(reads.flatMap(\.payload), side.received) == nil, "bytes \(side.container) read")
            for event in writes + reads {
                #expect(event.header.tuple == side.tuple)
                #expect(event.header.comm == side.json.string("comm"))
                #expect(event.header.container == side.container)
                #expect(event.header.tid == UInt32(pid))
                #expect(!event.isTruncated)
                #expect(event.enterTimestamp <= event.header.timestamp)
            }
            #expect(writes.allSatisfy { $0.syscall == writeCall })
            #expect(reads.allSatisfy { $0.syscall == readCall })
        }
        // Connection events name the roles.
        let opens = recorder.events.compactMap { event -> ConnectionEvent? in
            if case .connectionOpened(let o) = event { return o } else { return nil }
        }
        #expect(opens.contains { $0.role == .client && $0.header.pid == UInt32(c.int("pid")) && $0.header.tuple.remote == serverEnd })
        #expect(opens.contains { $0.role == .server && $0.header.pid == UInt32(s.int("pid")) && $0.header.tuple.remote == clientEnd })
    }

    /// With `sendfileBytes` off (export's setting), the egress program that copies them is not loaded.
    @Test("sendfile's bytes are captured from the wire, exactly, with their true length; or, without sendfile bytes, only the length",
          arguments: [true, false])
    func sendfile(bytes: Bool) throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net, sendfileBytes: bytes)
        #expect(probe.programs.contains { $0.name == "capture_sendfile_bytes" } == bytes)
        #expect(probe.features[.sendfilePayloads] == (bytes ? .active : .off(reason: "not asked for: sendfile events carry their length only")))
        let server = try startServer(net, mode: "sendfile", bodyBytes: 3000)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "sendfile"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON(), s = try server.readJSON()
        let response = c.hexBytes("response")
        let writes = recorder.data(pid: s.int("pid"), .egress)
        let files = writes.filter { $0.syscall == .sendfile }
        #expect(!files.isEmpty)
        #expect(files.reduce(0) { $0 + $1.length } == 3000)
        #expect(writes.reduce(0) { $0 + $1.length } == UInt64(response.count))
        let header = writes.filter { $0.syscall == .write }.flatMap(\.payload)
        #expect(!header.isEmpty && byteDifference(header, Array(response.prefix(header.count))) == nil)
        #expect(byteDifference(recorder.data(pid: c.int("pid"), .ingress).flatMap(\.payload), response) == nil)
        guard bytes else {
            #expect(files.allSatisfy { $0.payloadUnavailable && $0.payload.isEmpty })
            return
        }
        #expect(byteDifference(files.flatMap(\.payload), Array(response.dropFirst(header.count))) == nil)
        #expect(files.allSatisfy { !$0.payloadUnavailable && !$0.isTruncated })
        #expect(byteDifference(writes.flatMap(\.payload), response) == nil)
    }

    @Test("a payload larger than the cap is marked truncated with its true length")
    func truncation() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net, payloadCap: 1024)
        let server = try startServer(net, mode: "plain", bodyBytes: 20_000)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON(), s = try server.readJSON()
        let response = c.hexBytes("response")
        let writes = recorder.data(pid: s.int("pid"), .egress)
        #expect(writes.reduce(0) { $0 + $1.length } == UInt64(response.count))
        let first = try #require(writes.first)
        #expect(first.isTruncated)
        #expect(first.payload.count == 1024)
        #expect(byteDifference(first.payload, Array(response.prefix(1024))) == nil)
        for event in writes + recorder.data(pid: c.int("pid"), .ingress) {
            #expect(event.payload.count == min(1024, Int(event.length)))
        }
    }

    @Test("files, pipes and UDP sockets produce no events")
    func nonSocketDescriptors() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net)
        let files = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "files", NSTemporaryDirectory()]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [files])
        let done = try files.readJSON()
        #expect(done["done"] as? Bool == true)
        #expect(recorder.events.filter { $0.header.pid == UInt32(done.int("pid")) }.isEmpty)
    }

    @Test("the tracer's own socket I/O never shows")
    func tracerIsNotTraced() throws {
        let port = 18_000 + Int(getpid() % 1000)
        let probe = try Probe(configuration: ProbeConfiguration())
        let server = try Child(["python3", Repository.httpPeer, "server", "\(port)", "plain", "100"])
        _ = try server.readJSON()
        // This process (the tracer) is the client, with plain POSIX calls.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let request = Array("GET /self HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(write(fd, request, request.count) == request.count)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var got = 0
        while got < 100 {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            got += n
        }
        close(fd)
        var recorder = EventRecorder()
        try recorder.record(probe, until: [server])
        let s = try server.readJSON()
        // The server's side of the same connection is seen; ours is not.
        #expect(byteDifference(recorder.data(pid: s.int("pid"), .ingress).flatMap(\.payload), request) == nil)
        #expect(recorder.events.allSatisfy { $0.header.pid != UInt32(getpid()) })
    }

    /// Data events carry their connection's facts only when they changed
    /// (PT_EVENT_CONN_FACTS): these are the changes that must send them again.
    @Test("a descriptor passed to another process, and a thread renamed, show on each event as the process that made it")
    func factsFollowTheWriter() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let probe = try probe(net)
        let script = """
        import ctypes, json, os, socket, subprocess
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
        c = socket.create_connection(srv.getsockname()); s, _ = srv.accept()
        c.sendall(b"from-parent"); s.recv(100)
        child = subprocess.Popen(["sh", "-c", "printf from-child >&%d" % c.fileno()], pass_fds=[c.fileno()])
        child.wait(); s.recv(100)
        ctypes.CDLL(None).prctl(15, b"renamed", 0, 0, 0)
        c.sendall(b"renamed-parent"); s.recv(100)
        print(json.dumps({"pid": os.getpid(), "child": child.pid}), flush=True)
        """
        let peer = try Child(net.exec(net.client, ["python3", "-c", script]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [peer])
        let pids = try peer.readJSON()
        let pid = UInt32(pids.int("pid")), child = UInt32(pids.int("child"))
        let writes = recorder.events.compactMap { event -> DataEvent? in
            guard case .data(let d) = event, d.direction == .egress else { return nil }
            return d
        }
        let byPayload = Dictionary(writes.map { (String(decoding: $0.payload, as: UTF8.self), $0) }, uniquingKeysWith: { a, _ in a })
        let parent = try #require(byPayload["from-parent"]), passed = try #require(byPayload["from-child"])
        let renamed = try #require(byPayload["renamed-parent"])
        #expect(parent.header.comm == "python3" && passed.header.comm == "sh" && renamed.header.comm == "renamed")
        #expect(passed.header.pid == child && parent.header.pid == pid && renamed.header.pid == pid)
        #expect(Set([parent, passed, renamed].map(\.header.connectionID)).count == 1)
        #expect(Set([parent, passed, renamed].map(\.header.tuple)).count == 1 && parent.header.tuple.local.port != 0)
        #expect([parent, passed, renamed].allSatisfy { $0.header.container == net.client })
    }

    @Test("retransmit count equals the kernel's TcpRetransSegs for the namespace")
    func retransmits() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        // Lose 10% of what reaches the client: the server has to send it again.
        try Shell.run(net.exec(net.client, ["iptables", "-A", "INPUT", "-p", "tcp", "-m", "statistic",
                                            "--mode", "random", "--probability", "0.1", "-j", "DROP"]))
        let probe = try probe(net)
        let before = try net.snmp(net.server, "Tcp", "RetransSegs")
        let server = try startServer(net, mode: "plain", bodyBytes: 4_000_000)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server], timeout: 120)
        let c = try client.readJSON()
        #expect(c.int("response_len") > 4_000_000)
        let after = try net.snmp(net.server, "Tcp", "RetransSegs")
        let serverNetns = try #require(ContainerResolver().netns(named: net.server))
        let seen = recorder.events.reduce(0) { sum, event in
            guard case .retransmit(let r) = event, r.header.netns == serverNetns, r.error == 0 else { return sum }
            return sum + Int(r.segments)
        }
        #expect(after - before > 0)
        #expect(seen == after - before)
        // And they are attributed to the connection and its owner.
        let retransmits = recorder.events.compactMap { e -> RetransmitEvent? in
            if case .retransmit(let r) = e, r.header.netns == serverNetns { return r } else { return nil }
        }
        #expect(retransmits.allSatisfy { $0.header.container == net.server })
        #expect(retransmits.contains { $0.header.comm == "python3" || $0.header.comm.hasPrefix("python") })
    }
}
