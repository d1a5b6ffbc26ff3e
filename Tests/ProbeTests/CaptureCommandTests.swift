import Foundation
import Glibc
import TestSupport
import Testing

/// `pipetrace capture` end to end: real traffic between two test namespaces,
/// tshark as the judge of the pcapng, and the JSON lines decoded back to
/// packets tshark dissects.
extension ProbeTests {
    /// Tracee's `-o json` fields, in its order.
    static let traceeFields = ["timestamp", "threadStartTime", "processorId", "processId", "cgroupId", "threadId",
                               "parentProcessId", "hostProcessId", "hostThreadId", "hostParentProcessId", "userId",
                               "mountNamespace", "pidNamespace", "processName", "executable", "hostName", "containerId",
                               "container", "kubernetes", "eventId", "eventName", "matchedPolicies", "argsNum",
                               "returnValue", "syscall", "stackAddresses", "contextFlags", "threadEntityId",
                               "processEntityId", "parentEntityId", "args"]

    @Test("capture: tshark reads the pcapng, counts its packets and requests as pipetrace does, and filters by container and command")
    func captureJudgedByTshark() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let server = try startServer(net, mode: "plain", bodyBytes: 3000)
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "-o", dir.json,
                                 "--container", net.server, "--container", net.client])
        let ready = capture.readErrorLine() ?? ""
        #expect(ready.contains("capturing"), "\(ready)")
        let client = try Child(net.exec(net.client, ["curl", "-s", "-o", "/dev/null", "http://\(net.serverAddress):8080/metrics"]))
        #expect(client.wait() == 0)
        server.wait()
        let (written, summary) = try stopCapture(capture)
        #expect(written.packets >= 7, "a handshake, a request, a response and a teardown, each once: \(summary)")
        #expect(written.requests == 1, "\(summary)")

        // tshark opens it without complaint and sees what pipetrace wrote.
        let check = try Child(["tshark", "-r", dir.pcapng, "-q"])
        let checkErrors = check.readAllErrors()
        #expect(check.wait() == 0, "\(checkErrors)")
        #expect(!checkErrors.contains("appears to be damaged"), "\(checkErrors)")
        #expect(try tsharkCount(dir.pcapng) == written.packets)
        #expect(try tsharkCount(dir.pcapng, "http.request") == written.requests)
        #expect(try tsharkCount(dir.pcapng, "frame.comment contains \"HTTP GET /metrics 200\"") == written.requests)

        // Each packet is written once, as it left its sender: each side's packets, by the container and
        // command on their first lines, are that side's interface's packets; the receiver is the other side.
        let serverDevice = try vethName(net, net.server), clientDevice = try vethName(net, net.client)
        let onServer = try tsharkCount(dir.pcapng, "frame.interface_name == \"\(serverDevice)\"")
        let onClient = try tsharkCount(dir.pcapng, "frame.interface_name == \"\(clientDevice)\"")
        #expect(onServer > 0 && onClient > 0 && onServer + onClient == written.packets)
        #expect(try tsharkCount(dir.pcapng, ProbeTests.sentBy("Container: \(net.server)")) == onServer)
        #expect(try tsharkCount(dir.pcapng, ProbeTests.sentBy("Container: \(net.client)")) == onClient)
        #expect(try tsharkCount(dir.pcapng, ProbeTests.sentBy("Cmd: python3")) == onServer)
        #expect(try tsharkCount(dir.pcapng, ProbeTests.sentBy("Cmd: curl")) == onClient)
        let toServer = try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Container: \(net.server)\"")
        let toClient = try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Container: \(net.client)\"")
        #expect(toServer > 0 && toClient > 0, "the receivers are named")
        #expect(try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Container: \(net.server)\" && frame.interface_name == \"\(clientDevice)\"") == toServer)
        #expect(try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Cmd: curl\" && frame.interface_name == \"\(serverDevice)\"") == (try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Cmd: curl\"")))

        // The JSON lines: Tracee's fields in order, and every packet decodes to one tshark dissects.
        let lines = try String(contentsOfFile: dir.json, encoding: .utf8).split(separator: "\n")
        var packets: [[UInt8]] = []
        for line in lines {
            #expect(line.hasPrefix(#"{"timestamp":"#))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == Set(ProbeTests.traceeFields), "\(object.keys.sorted())")
            let positions = ProbeTests.traceeFields.map { line.range(of: "\"\($0)\":")?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil } && positions.map { $0! } == positions.map { $0! }.sorted(), "field order: \(line.prefix(300))")
            guard object["eventName"] as? String == "net_packet_raw" else { continue }
            let args = try #require(object["args"] as? [[String: Any]])
            #expect(args.first?["name"] as? String == "data" && args.first?["type"] as? String == "[]byte")
            let data = try #require(Data(base64Encoded: args.first?["value"] as? String ?? ""))
            packets.append([UInt8](data))
        }
        #expect(packets.count == written.packets)
        #expect(packets.allSatisfy { $0.first.map { $0 >> 4 == 4 || $0 >> 4 == 6 } ?? false }, "every packet starts with an IP header")
        let names = Set(lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventName"] as? String
        })
        #expect(names.isSuperset(of: ["net_packet_raw", "net_packet_http_request", "net_packet_http_response",
                                      "net_flow_tcp_begin", "net_flow_tcp_end", "pipetrace_request"]), "\(names.sorted())")
        try RawPcapFile.write(packets, to: dir.fromJSON)
        #expect(try tsharkCount(dir.fromJSON) == packets.count)
        #expect(try tsharkCount(dir.fromJSON, "tcp") == packets.count)
        #expect(try tsharkCount(dir.fromJSON, "_ws.malformed") == 0)
    }

    @Test("capture with a pcap-filter expression keeps only the packets it selects")
    func captureExpression() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let kept = try startServer(net, mode: "plain", bodyBytes: 200, port: 8080)
        let dropped = try startServer(net, mode: "plain", bodyBytes: 200, port: 9090)
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "--container", net.client,
                                 "tcp", "port", "8080"])
        _ = capture.readErrorLine()
        for port in [8080, 9090] {
            let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "\(port)", "plain"]))
            #expect(client.wait() == 0)
        }
        kept.wait()
        dropped.wait()
        let (written, summary) = try stopCapture(capture)
        #expect(written.packets > 0 && summary.contains("filtered out by the expression"), "\(summary)")
        #expect(try tsharkCount(dir.pcapng) == written.packets)
        #expect(try tsharkCount(dir.pcapng, "tcp.port == 8080") == written.packets)
        #expect(try tsharkCount(dir.pcapng, "tcp.port == 9090") == 0)
    }

    @Test("capture refuses a filter expression libpcap cannot compile, with one clear line")
    func captureBadExpression() throws {
        let dir = try CaptureScratch()
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "tcp", "port"])
        #expect(capture.wait() != 0)
        let errors = capture.readAllErrors()
        #expect(errors.contains("invalid filter expression 'tcp port'"), "\(errors)")
        #expect(!FileManager.default.fileExists(atPath: dir.pcapng), "nothing written before the expression is known good")
    }

    @Test("capture between two namespaces holds each packet once, as tcpdump on one veth end sees it, with sender and receiver named")
    func captureWritesLocalPacketsOnce() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let run = try captureOneDownload(net, bodyBytes: 400_000)
        let packets = try tsharkCount(run.dir.pcapng)
        #expect(packets == run.written.packets)
        let onVeth = try tsharkCount(run.tcpdump)
        #expect(packets == onVeth, "pipetrace wrote \(packets) packets, tcpdump on the veth saw \(onVeth)")
        let unexplained = try unexplainedResends(run.dir.pcapng)
        #expect(unexplained.isEmpty, "\(unexplained)")
        #expect(try distinctPackets(run.dir.pcapng) == packets, "no packet twice")
        #expect(try distinctPackets(run.dir.pcapng) == (try distinctPackets(run.tcpdump)))

        // Who sent it and who received it, by their pids and commands.
        let lines = try Shell.run(["tshark", "-r", run.dir.pcapng, "-T", "fields", "-E", "separator=|", "-e", "tcp.srcport", "-e", "frame.comment"])
        var named = 0
        for line in lines.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 1).map(String.init)
            let fromServer = fields.first == "8080"
            let comment = (fields.count > 1 ? fields[1] : "").replacingOccurrences(of: "\\n", with: "\n")
            let (sender, receiver) = fromServer ? (run.server, run.client) : (run.client, run.server)
            #expect(comment.hasPrefix("PID: \(sender.pid)\nCmd: \(sender.comm)\n"), "\(comment)")
            if comment.contains("Receiver") {
                #expect(comment.contains("Receiver PID: \(receiver.pid)\nReceiver Cmd: \(receiver.comm)\n"), "\(comment)")
                named += 1
            }
        }
        #expect(named >= packets - 1, "every packet names its receiver (but a last ACK a TIME_WAIT socket takes)")
    }

    @Test("capture under real loss (iptables drops a tenth of the data) still shows and marks the real retransmissions")
    func captureKeepsRealRetransmissions() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        // Dropped entering the client, after its veth (where tcpdump looks) and before its socket: only
        // data segments, so no ACK the kernel sends alone (never seen leaving) goes missing.
        try Shell.run(net.exec(net.client, ["iptables", "-A", "INPUT", "-p", "tcp", "--sport", "8080", "-m", "length", "--length", "200:65535",
                                            "-m", "statistic", "--mode", "random", "--probability", "0.1", "-j", "DROP"]))
        let run = try captureOneDownload(net, bodyBytes: 3_000_000)
        let packets = try tsharkCount(run.dir.pcapng)
        #expect(packets == run.written.packets)
        #expect(packets == (try tsharkCount(run.tcpdump)))
        #expect(try distinctPackets(run.dir.pcapng) == packets)
        // pipetrace writes each packet as it left its sender, so a segment sent again is one whose sequence
        // number lies below the highest byte sent before it; marks, from the kernel's own report, fall only
        // on those. tcpdump on the receiving veth is the independent judge of what was sent twice: a segment
        // it saw twice (same sequence number and length) is marked. (Its order may differ: the veth delivers
        // through per-CPU queues, and tshark's retransmission analysis reads the time between packets, so its
        // counts differ between vantage points.) A segment resent with another length (the kernel joins or
        // cuts segments it sends again) is not "twice" on the veth; that every one of those is marked too is
        // a known gap on a loaded machine (README), kept visible below as an intermittent known issue.
        let resent = try resentSegments(run.dir.pcapng)
        let marked = try dataSegments(run.dir.pcapng, "frame.comment contains \"TCP retransmit\"")
        #expect(!marked.isEmpty && Set(marked).isSubset(of: Set(resent)), "resent \(resent), marked \(marked)")
        let onVeth = Dictionary(try dataSegments(run.tcpdump).map { ($0, 1) }, uniquingKeysWith: +)
        let twiceOnVeth = Set(onVeth.filter { $0.value > 1 }.keys)
        #expect(!twiceOnVeth.isEmpty && twiceOnVeth.isSubset(of: Set(marked)), "seen twice on the veth: \(twiceOnVeth.sorted()), marked \(marked)")
        withKnownIssue("resent segments left unmarked under CPU stress (README: known gap)", isIntermittent: true) {
            #expect(Set(resent).isSubset(of: Set(marked)), "resent, unmarked: \(Set(resent).subtracting(marked).sorted())")
        }
        #expect(run.written.requests == 1)
    }

    @Test("capture on loopback holds each packet once, even a GSO packet loopback cuts in pieces on the way in")
    func captureLoopbackOnce() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let server = try startServer(net, mode: "plain", bodyBytes: 1_000_000, bind: "127.0.0.1")
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "--snaplen", "256", "--container", net.server])
        #expect((capture.readErrorLine() ?? "").contains("capturing"))
        let client = try Child(net.exec(net.server, ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:8080/data"]))
        #expect(client.wait() == 0)
        server.wait()
        let (written, summary) = try stopCapture(capture)
        #expect(try tsharkCount(dir.pcapng) == written.packets)
        #expect(try distinctPackets(dir.pcapng) == written.packets, "no packet twice")
        let unexplained = try unexplainedResends(dir.pcapng)
        #expect(unexplained.isEmpty, "\(unexplained) \(summary)")
        #expect(try tsharkCount(dir.pcapng, "http.request") == 1)
        #expect(try tsharkCount(dir.pcapng, "frame.comment contains \"Receiver Cmd\"") >= written.packets - 1)
    }

    @Test("capture killed with SIGKILL amid traffic leaves files tshark reads with every packet tcpdump saw before the last second")
    func captureSurvivesKill() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let tcpdumpFile = dir.path + "/tcpdump.pcap"
        let server = try Child(net.exec(net.server, ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", dir.path]))
        defer { server.signal(SIGKILL); _ = server.wait() }
        let tcpdump = try startTcpdump(net, writing: tcpdumpFile)
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "-o", dir.json, "--snaplen", "256",
                                 "--container", net.server, "--container", net.client])
        #expect((capture.readErrorLine() ?? "").contains("capturing"))
        // A new connection 20 times a second for 5 s: traffic still flows when the capture is killed.
        let client = try Child(net.exec(net.client, ["sh", "-c", "curl -s --retry 5 --retry-connrefused --rate 20/s "
                                                      + "'http://\(net.serverAddress):8080/?n=[1-100]' >/dev/null"]))
        sleep(3)
        let killed = Date().timeIntervalSince1970
        capture.signal(SIGKILL)
        _ = capture.wait()
        #expect(client.wait() == 0)
        stopTcpdump(tcpdump, writing: tcpdumpFile)

        let check = try Child(["tshark", "-r", dir.pcapng, "-q"])
        let complaints = check.readAllErrors().split(separator: "\n").filter { !$0.contains("Running as user") }
        #expect(check.wait() == 0 && complaints.isEmpty, "\(complaints)")
        let written = try packetIdentities(dir.pcapng)
        let before = try packetIdentities(tcpdumpFile, before: killed - 1)
        #expect(before.count >= 40, "tcpdump saw \(before.count) packets in the first 2 s")
        let missing = before.subtracting(written)
        #expect(missing.isEmpty, "\(missing.count) of the \(before.count) packets tcpdump saw more than 1 s before the kill are not in the pcapng")
        #expect(try tsharkCount(dir.pcapng, "frame.comment contains \"HTTP GET /?n=\"") > 0, "requests are summarized as they go")

        // The JSON lines: each one whole, and their packets the same as the pcapng's.
        let lines = try String(contentsOfFile: dir.json, encoding: .utf8).split(separator: "\n")
        var packets: [[UInt8]] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            guard object["eventName"] as? String == "net_packet_raw", let args = object["args"] as? [[String: Any]],
                  let data = Data(base64Encoded: args.first?["value"] as? String ?? "") else { continue }
            packets.append([UInt8](data))
        }
        try RawPcapFile.write(packets, to: dir.fromJSON)
        #expect(before.subtracting(try packetIdentities(dir.fromJSON)).isEmpty, "the JSON lines hold what the pcapng holds")
    }

    @Test("capture keeps apart two pairs of namespaces that use the same addresses at the same time")
    func captureOverlappingAddresses() throws {
        let nets = [try TestNetwork(), try TestNetwork()] // both 10.231.0.1 ↔ 10.231.0.2
        defer { nets.forEach { $0.remove() } }
        let dir = try CaptureScratch()
        let servers = try nets.map { try startServer($0, mode: "plain", bodyBytes: 300_000) }
        let dumps = try nets.enumerated().map { i, net in
            let file = dir.path + "/tcpdump\(i).pcap"
            return (try startTcpdump(net, writing: file), file)
        }
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "--snaplen", "256"]
                                + nets.flatMap { ["--container", $0.server, "--container", $0.client] })
        #expect((capture.readErrorLine() ?? "").contains("capturing"))
        // Distinct client ports: two namespaces can pick the same one, and tshark would then take both
        // connections for one (a file has no namespaces) and call each other's segments resent.
        let clients = try nets.enumerated().map { i, net in
            try Child(net.exec(net.client, ["curl", "-s", "--local-port", "\(41000 + 1000 * i)-\(41999 + 1000 * i)", "-o", "/dev/null",
                                            "http://\(net.serverAddress):8080/data"]))
        }
        for c in clients { #expect(c.wait() == 0) }
        servers.forEach { $0.wait() }
        let (written, _) = try stopCapture(capture)
        for (dump, file) in dumps { stopTcpdump(dump, writing: file) }
        let seen = try dumps.map { try tsharkCount($0.1) }
        #expect(written.packets == seen[0] + seen[1], "\(written.packets) written, tcpdump saw \(seen)")
        #expect(try distinctPackets(dir.pcapng) == written.packets)
        let unexplained = try unexplainedResends(dir.pcapng)
        #expect(unexplained.isEmpty, "\(unexplained)")
        // Each packet's receiver is the other end of its own pair.
        for (i, net) in nets.enumerated() {
            let other = nets[1 - i]
            let mine = "\(ProbeTests.sentBy("Container: \(net.client)")) || \(ProbeTests.sentBy("Container: \(net.server)"))"
            #expect(try tsharkCount(dir.pcapng, mine) == seen[i])
            #expect(try tsharkCount(dir.pcapng, "(\(mine)) && (frame.comment contains \"Receiver Container: \(other.client)\" || frame.comment contains \"Receiver Container: \(other.server)\")") == 0)
            #expect(try tsharkCount(dir.pcapng, "(\(mine)) && frame.comment contains \"Receiver Container\"") >= seen[i] - 1)
        }
    }

    /// Traceeshark's tracee-event dissector, built against Debian's Wireshark 4.0 by whoever runs this
    /// (this repository holds no recipe for it) and installed under $PIPETRACE_TRACEESHARK_HOME's
    /// personal plugin folder; its wiretap reader needs Wireshark's private wtap-int.h, which Debian does
    /// not ship, so the JSON lines reach the dissector as LINKTYPE_USER0 records, as that reader hands them.
    @Test("Traceeshark's dissector reads the JSON capture: every net_packet_raw a packet, filters by event and process",
          .enabled(if: ProcessInfo.processInfo.environment["PIPETRACE_TRACEESHARK_HOME"] != nil))
    func traceesharkReadsTheJSON() throws {
        let home = try #require(ProcessInfo.processInfo.environment["PIPETRACE_TRACEESHARK_HOME"])
        let captures = Repository.root.appendingPathComponent("captures").path
        let dir = try CaptureScratch()
        let records = dir.path + "/tracee-json-records.pcap"
        try TraceeJSONRecords.write(jsonLines: captures + "/pipeline.json", to: records)
        // Wireshark loads personal plugins only for a user without privileges.
        let tshark = (getuid() == 0 ? ["runuser", "-u", "nobody", "--"] : []) + ["env", "HOME=\(home)", "tshark"]
        #expect(try Shell.run(tshark + ["-G", "plugins"]).contains("tracee-event"), "Traceeshark's plugin is not installed in \(home)")
        func count(_ filter: String) throws -> Int {
            try Shell.run(tshark + ["-r", records, "-Y", filter, "-T", "fields", "-e", "frame.number"]).split(separator: "\n").count
        }
        let pcapng = captures + "/pipeline.pcapng"
        #expect(try count("tracee.eventName == \"net_packet_raw\"") == (try tsharkCount(pcapng)))
        #expect(try count("(tracee.eventName == \"net_packet_raw\") && (tracee.processName == \"nginx\")")
            == (try tsharkCount(pcapng, ProbeTests.sentBy("Cmd: nginx"))))
        #expect(try count("http.request && tracee.eventName == \"net_packet_raw\"") == (try tsharkCount(pcapng, "http.request")))
        #expect(try count("tracee.eventName == \"net_packet_http_request\"") == 10)
        #expect(try count("tracee.eventName == \"pipetrace_request\"") == 10)
        #expect(try count("_ws.malformed || _ws.expert.severity >= \"error\"") == 0)
        let check = try Child(tshark + ["-r", records, "-q"])
        let complaints = check.readAllErrors()
        #expect(check.wait() == 0)
        #expect(!complaints.contains("WARNING") && !complaints.contains("unknown type"), "\(complaints)")
    }

    /// One download from the server namespace to curl in the client's, captured by pipetrace
    /// (both containers) and by tcpdump on the client's veth.
    func captureOneDownload(_ net: TestNetwork, bodyBytes: Int) throws
        -> (dir: CaptureScratch, written: CaptureSummary, tcpdump: String, server: (pid: Int32, comm: String), client: (pid: Int32, comm: String)) {
        let dir = try CaptureScratch()
        let tcpdumpFile = dir.path + "/tcpdump.pcap"
        let server = try startServer(net, mode: "plain", bodyBytes: bodyBytes)
        let tcpdump = try startTcpdump(net, writing: tcpdumpFile)
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", dir.pcapng, "--snaplen", "256",
                                 "--container", net.server, "--container", net.client])
        let ready = capture.readErrorLine() ?? ""
        #expect(ready.contains("capturing"), "\(ready)")
        let client = try Child(net.exec(net.client, ["curl", "-s", "-o", "/dev/null", "http://\(net.serverAddress):8080/data"]))
        let clientPid = client.pid
        #expect(client.wait() == 0)
        server.wait()
        let (written, _) = try stopCapture(capture)
        stopTcpdump(tcpdump, writing: tcpdumpFile)
        return (dir, written, tcpdumpFile, (server.pid, "python3"), (clientPid, "curl"))
    }

    /// tcpdump on the client's veth, once it listens (it writes its file's header then). Immediate
    /// mode: packets reach it as they arrive, not when a ring-buffer block fills or times out (1 s),
    /// and -U writes each one as it comes.
    func startTcpdump(_ net: TestNetwork, writing file: String) throws -> Child {
        let tcpdump = try Child(net.exec(net.client, ["tcpdump", "-Z", "root", "--immediate-mode", "-i", try vethName(net, net.client),
                                                      "-s", "256", "-U", "-w", file, "tcp", "port", "8080"]))
        for _ in 0..<200 where fileSize(file) < 24 { usleep(50_000) }
        return tcpdump
    }

    /// Stops tcpdump once its file has stopped growing (a busy machine delays its last writes).
    /// SIGKILL: the test runner's children inherit its blocked signals; what was written stays.
    func stopTcpdump(_ tcpdump: Child, writing file: String) {
        var size = -1
        for _ in 0..<50 {
            let now = fileSize(file)
            if now == size { break }
            size = now
            usleep(200_000)
        }
        tcpdump.signal(SIGKILL)
        _ = tcpdump.wait()
    }

    func fileSize(_ file: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
    }

    /// Packets that differ in something a copy would keep (ports, sequence and acknowledgment numbers, flags, IPv4 id, length).
    func distinctPackets(_ file: String) throws -> Int {
        try packetIdentities(file).count
    }

    /// What a copy of a packet would keep, one string per distinct packet; with `before`, of those captured before that Unix time.
    func packetIdentities(_ file: String, before: Double? = nil) throws -> Set<String> {
        let rows = try Shell.run(["tshark", "-r", file, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq_raw",
                                  "-e", "tcp.ack_raw", "-e", "tcp.flags", "-e", "ip.id", "-e", "tcp.len"]
                                 + (before.map { ["-Y", "frame.time_epoch < \(String(format: "%.6f", $0))"] } ?? []))
        return Set(rows.split(separator: "\n").map(String.init))
    }

    /// A display filter for packets whose sender's lines (the first ones) include `line`.
    static func sentBy(_ line: String) -> String {
        "frame.comment matches \"(^|\\n)\(line)\""
    }

    /// Frames of a capture file tshark counts, all or those a display filter selects.
    /// Lets the last packets arrive, stops the capture as Ctrl-C does, and reads the summary it ends with.
    func stopCapture(_ capture: Child) throws -> (written: CaptureSummary, summary: String) {
        usleep(300_000)
        capture.signal(SIGINT)
        #expect(capture.wait() == 0)
        let summary = capture.readAllErrors()
        return (try #require(CaptureSummary(summary), "\(summary)"), summary)
    }

    func tsharkCount(_ file: String, _ filter: String? = nil) throws -> Int {
        let output = try Shell.run(["tshark", "-r", file, "-T", "fields", "-e", "frame.number"] + (filter.map { ["-Y", $0] } ?? []))
        return output.split(separator: "\n").count
    }

    /// Packets tshark takes for sent again (a retransmission, out of order, or a duplicate ACK) that
    /// the kernel did not report retransmitting: how a packet written twice or out of place shows.
    /// A real retransmission (a busy machine can delay an ACK past the tail-loss probe) is marked
    /// "TCP retransmit" and explains itself and the duplicate ACKs it draws: those that acknowledge
    /// its first byte (the hole it fills) or the byte after its last (a probe the receiver had).
    func unexplainedResends(_ file: String) throws -> [String] {
        let marked = "frame.comment contains \"TCP retransmit\""
        var explained = Set<String>()
        for row in try dataSegments(file, marked) {
            let f = row.split(separator: " ")
            guard f.count == 3, let seq = UInt32(f[1]), let length = UInt32(f[2]) else { continue }
            explained.insert("\(f[0]) \(seq)")
            explained.insert("\(f[0]) \(seq &+ length)")
        }
        let resent = "(tcp.analysis.retransmission || tcp.analysis.out_of_order) && !(\(marked))"
        let shown = ["-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "_ws.expert.message"]
        let unexplained = try Shell.run(["tshark", "-r", file, "-Y", resent, "-T", "fields", "-E", "separator=|"] + shown)
        let duplicateACKs = try Shell.run(["tshark", "-r", file, "-Y", "tcp.analysis.duplicate_ack && !(\(resent))", "-T", "fields",
                                           "-E", "separator=|", "-e", "tcp.dstport", "-e", "tcp.ack_raw"] + shown)
        return unexplained.split(separator: "\n").map(String.init) + duplicateACKs.split(separator: "\n").compactMap { row in
            let f = row.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            return f.count == 3 && explained.contains("\(f[0]) \(f[1])") ? nil : String(f.count == 3 ? f[2] : row)
        }
    }

    /// Data segments ("port seq len", raw sequence numbers) in file order, all or those a display filter selects.
    func dataSegments(_ file: String, _ filter: String? = nil) throws -> [String] {
        let rows = try Shell.run(["tshark", "-r", file, "-Y", "tcp.len > 0" + (filter.map { " && (\($0))" } ?? ""), "-T", "fields",
                                  "-E", "separator= ", "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e", "tcp.len"])
        return rows.split(separator: "\n").map(String.init)
    }

    /// Data segments whose sequence number lies below the highest byte sent before them in the file, per direction.
    func resentSegments(_ file: String) throws -> [String] {
        var first: [Substring: UInt32] = [:], highest: [Substring: UInt64] = [:]
        return try dataSegments(file).filter { row in
            let fields = row.split(separator: " ")
            guard fields.count == 3, let seq = UInt32(fields[1]), let length = UInt64(fields[2]) else { return false }
            let start = UInt64(seq &- first[fields[0], default: seq]) // relative to the direction's first segment
            first[fields[0]] = first[fields[0]] ?? seq
            defer { highest[fields[0]] = max(highest[fields[0], default: 0], start + length) }
            return start < highest[fields[0], default: 0]
        }
    }

    /// The veth device of the test network inside namespace `ns`.
    func vethName(_ net: TestNetwork, _ ns: String) throws -> String {
        let text = try Shell.run(["ip", "-n", ns, "-o", "link", "show", "type", "veth"])
        let field = try #require(text.split(separator: " ").dropFirst().first)
        return String(field.split(separator: "@").first ?? field).trimmingCharacters(in: CharacterSet(charactersIn: ":"))
    }
}

/// The numbers of the line `pipetrace capture` ends with on stderr.
struct CaptureSummary {
    let packets: Int
    let requests: Int

    init?(_ text: String) {
        guard let line = text.split(separator: "\n").last(where: { $0.contains("packets written") }) else { return nil }
        let words = line.split(separator: " ")
        guard let p = words.firstIndex(of: "packets"), let r = words.firstIndex(of: "requests,"),
              let packets = Int(words[p - 1]), let requests = Int(words[r - 1]) else { return nil }
        self.packets = packets
        self.requests = requests
    }
}

/// A directory of its own for one test's files, removed afterwards.
final class CaptureScratch {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "pipetrace-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var pcapng: String { path + "/capture.pcapng" }
    var json: String { path + "/capture.json" }
    var fromJSON: String { path + "/from-json.pcap" }
}

/// A classic pcap file of raw IP packets (LINKTYPE_RAW), written by hand so
/// the JSON's packets reach tshark through a writer that is not the one under test.
enum RawPcapFile {
    static func write(_ packets: [[UInt8]], to path: String) throws {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        u32(0xa1b2_c3d4); u16(2); u16(4); u32(0); u32(0); u32(65535); u32(101)
        for (i, p) in packets.enumerated() {
            u32(UInt32(i)); u32(0); u32(UInt32(p.count))
            // The IP header's total length is the length on the wire (the snap length may have cut the packet).
            let wire = p.first.map { $0 >> 4 == 4 && p.count >= 4 ? Int(p[2]) << 8 | Int(p[3]) : (p.count >= 6 ? 40 + (Int(p[4]) << 8 | Int(p[5])) : p.count) } ?? p.count
            u32(UInt32(max(wire, p.count)))
            out.append(contentsOf: p)
        }
        try out.write(to: URL(fileURLWithPath: path))
    }
}

/// Tracee JSON lines as Traceeshark's wiretap reader hands them to its dissector: one
/// LINKTYPE_USER0 record per `{"timestamp":` line, stamped with that timestamp (nanosecond pcap).
enum TraceeJSONRecords {
    static func write(jsonLines path: String, to destination: String) throws {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        u32(0xa1b2_3c4d); u16(2); u16(4); u32(0); u32(0); u32(1 << 20); u32(147)
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where line.hasPrefix(#"{"timestamp":"#) {
            let digits = line.dropFirst(13).prefix { $0.isNumber }
            let ns = try #require(UInt64(digits))
            let bytes = Array(line.utf8)
            u32(UInt32(ns / 1_000_000_000)); u32(UInt32(ns % 1_000_000_000)); u32(UInt32(bytes.count)); u32(UInt32(bytes.count))
            out.append(contentsOf: bytes)
        }
        try out.write(to: URL(fileURLWithPath: destination))
        chmod(destination, 0o644)
    }
}
