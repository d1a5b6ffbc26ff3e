import Analyzer
import ArgumentParser
import Capture
import CaptureFormats
import Events
import Exporter
import Glibc
import Probe
import Redaction

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write the packets of the traced containers to a pcapng file, each with its process and container.",
        discussion: """
        Packets are taken from the socket layer (cgroup ingress and egress) from their IP header, \
        for the TCP connections that pass the filters, and written to a pcapng file Wireshark and \
        tshark open with no plugin: one interface per device and network namespace, the direction \
        of each packet, and a comment per packet with `PID: …`, `Cmd: …` and `Container: …` lines; \
        the first packet of each request also carries its summary (`HTTP GET /metrics 200 14.8 ms \
        hop collector→lb`), a retransmitted segment `TCP retransmit`. A packet between two \
        sockets of this host (two namespaces, or loopback) is written once, as it left its sender, \
        with `Receiver PID: …`, `Receiver Cmd: …` and `Receiver Container: …` lines for its other end.
        EXPRESSION is a tcpdump filter (pcap-filter syntax), applied to every packet.
        With -o, the same capture is also written as JSON lines in Tracee's `-o json` format \
        (net_packet_raw, net_packet_http_request/response, net_flow_tcp_begin/end) plus \
        pipetrace_request and pipetrace_retransmit, for Traceeshark.
        Credentials (Authorization, Cookie and Set-Cookie values, URL userinfo, secret query values) \
        are masked with * in the comments and the JSON, byte for byte; the pcapng's packet bytes stay \
        as on the wire unless --redact-packets.
        Packets are written within a second of being seen (0.7 s: the time a socket's owner, a \
        delivery or a retransmit takes to be known), so a capture killed or cut by a power loss keeps \
        all but its last second; Ctrl-C or SIGTERM writes everything. A request whose record comes \
        after its first packet was written (a slow one) has its summary on the packet that completed \
        its response, as `Completes: HTTP GET /slow 200 1500.0 ms`.

        Examples:
          sudo pipetrace capture --time 30 -w pipeline.pcapng -o pipeline.json
          sudo pipetrace capture --container lb -w lb.pcapng tcp port 8428
          tshark -r pipeline.pcapng -Y 'frame.comment contains "Container: lb"'
        """
    )

    @Option(name: .customLong("time"), help: ArgumentHelp("Stop after this many seconds (default: until Ctrl-C).", valueName: "seconds"))
    var seconds: Double?

    @Option(name: .customShort("w"), help: ArgumentHelp("Write the packets to this pcapng file.", valueName: "file.pcapng"))
    var pcapngPath: String

    @Option(name: .customShort("o"), help: ArgumentHelp("Also write Tracee-compatible JSON lines to this file.", valueName: "file.json"))
    var jsonPath: String?

    @Option(name: .customLong("snaplen"),
            help: ArgumentHelp("Bytes kept per packet from its IP header (64 to 65535).", valueName: "bytes"))
    var snapLength: Int = 1514

    @Flag(name: .customLong("redact-packets"),
          help: "Mask credentials in the pcapng's packet bytes too (same length, TCP checksum updated), for a file meant to be shared; by default they are as on the wire.")
    var redactPackets = false

    @OptionGroup var filters: FilterOptions

    @OptionGroup var redaction: RedactionOptions

    @Argument(help: ArgumentHelp("A tcpdump filter expression, e.g. `tcp port 8080`.", valueName: "expression"))
    var expression: [String] = []

    func validate() throws {
        guard snapLength >= 64, snapLength <= ProbeConfiguration.maximumSnapLength else {
            throw ValidationError("--snaplen must be between 64 and \(ProbeConfiguration.maximumSnapLength)")
        }
    }

    func run() throws {
        let filter: PacketFilter?
        do {
            filter = expression.isEmpty ? nil : try PacketFilter(expression: expression.joined(separator: " "))
        } catch {
            throw FailureMessage(text: "error: \(error)")
        }
        let signals = SignalWatcher()
        let resolver = FilterOptions.containerResolver()
        var configuration: ProbeConfiguration
        do {
            configuration = try filters.probeConfiguration(resolver: resolver)
        } catch {
            throw FailureMessage(text: "error: \(error)")
        }
        configuration.capturePackets = true
        configuration.snapLength = snapLength
        let probe: Probe
        do {
            probe = try Probe(configuration: configuration, containers: resolver)
        } catch {
            throw FailureMessage(text: "error: \(error)")
        }
        let pcapng = try CaptureCommand.create(pcapngPath)
        let json = try jsonPath.map(CaptureCommand.create)
        var session = CaptureSession(wallClock: probe.wallClock, snapLength: UInt32(snapLength), filter: filter,
                                     pcapng: pcapng, json: json, hostName: CaptureCommand.hostName(),
                                     redactor: redaction.makeRedactor(), redactPackets: redactPackets)
        probe.warnings.forEach(StandardError.write)
        StandardError.write("pipetrace: capturing (\(probe.programs.count) BPF programs attached) to \(pcapngPath); Ctrl-C to stop\n")
        try session.run(probe, seconds: seconds, stop: signals.received)
        if let failure = session.failure {
            StandardError.write(session.summary(lostEvents: probe.statistics.lostEvents))
            throw FailureMessage(text: "error: writing \(failure.file == .pcapng ? pcapngPath : jsonPath ?? ""): \(failure.reason); "
                                 + "capture stopped, the file holds what was written before (whole blocks, readable)")
        }
        StandardError.write(session.summary(lostEvents: probe.statistics.lostEvents))
    }

    /// The file, 0600 whatever the umask: it holds whatever the traced processes sent.
    static func create(_ path: String) throws -> OutputStream {
        do {
            let file = try PrivateFile.create(path)
            if let note = file.note(path) { StandardError.write(note) }
            return OutputStream(fd: file.fd)
        } catch {
            throw FailureMessage(text: "error: \(error)")
        }
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
