import Analyzer
import CaptureFormats
import Events
import Redaction

/// One `pipetrace capture` run, between the probe and the files: packets
/// through the expression filter and the annotator into the formats; data
/// and connection events through the analyzer, whose records annotate the
/// packets and go to the JSON lines. JSON observations are held until the
/// packets before them are written, so the lines stay in time order (but for
/// a record that completes after packets later than its start were written:
/// it comes when it completes).
/// `tick` lets packets and observations go as time passes (the annotator's
/// hold, under a second), so the files are never more than a second behind.
/// Records (and so the comments and JSON made from them) and the JSON's
/// packets are redacted; the pcapng's packets only with `redactPackets`.
public struct CaptureSession {
    private var analyzer: Analyzer
    private var annotator = PacketAnnotator()
    private let wallClock: WallClock
    private let filter: PacketFilter?
    private let interfaces = InterfaceNames()
    private var pcapng: PcapngWriter
    private var tracee: TraceeJSONWriter
    private let pcapngOut: OutputStream
    private let jsonOut: OutputStream?
    private let redactor: Redactor
    private let redactPackets: Bool
    /// JSON lines of observations, by wall-clock time, waiting for the packets before them.
    private var notes: [(time: Int64, bytes: [UInt8])] = []

    public private(set) var packetsSeen = 0
    public private(set) var packetsWritten = 0
    public private(set) var packetsFilteredOut = 0
    public private(set) var egress = 0
    public private(set) var records = 0

    public init(wallClock: WallClock, snapLength: UInt32, filter: PacketFilter?, pcapng: OutputStream, json: OutputStream?,
         hostName: String, redactor: Redactor, redactPackets: Bool) {
        self.redactor = redactor
        self.redactPackets = redactPackets
        self.wallClock = wallClock
        self.filter = filter
        // A view seen from one end waits less than the annotator holds packets, so its record still finds the
        // packet that completed it; both ends on this host are read from one ring buffer, milliseconds apart.
        analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: wallClock, mergeWindow: 400_000_000,
                                                                 sweepInterval: 100_000_000))
        self.pcapng = PcapngWriter(snapLength: snapLength)
        tracee = TraceeJSONWriter(wallClock: wallClock, hostName: hostName)
        pcapngOut = pcapng
        jsonOut = json
        pcapngOut.write(self.pcapng.begin())
        jsonOut?.write(tracee.begin())
    }

    public mutating func process(_ event: ProbeEvent) {
        switch event {
        case .packet(let p) where p.isDelivery:
            annotator.join(p)
            return
        case .packet(let p):
            packetsSeen += 1
            if let filter, !filter.matches(p.bytes, length: Int(p.length)) {
                packetsFilteredOut += 1
                return
            }
            let h = p.header
            let interface = interfaces.interface(netns: h.netns, index: p.interfaceIndex, container: h.container ?? "host", pid: h.pid)
            let annotated = AnnotatedPacket(event: p, unixNanoseconds: wallClock.unixNanoseconds(h.timestamp), interface: interface)
            write(annotator.add(annotated))
            return
        case .data(let d):
            annotator.learnOwner(d.header)
        case .connectionOpened(let c):
            annotator.learnOwner(c.header)
            note(.connectionOpened(c), at: wallClock.unixNanoseconds(c.header.timestamp))
        case .connectionClosed(let c):
            note(.connectionClosed(c), at: wallClock.unixNanoseconds(c.header.timestamp))
        case .retransmit(let r):
            annotator.add(r)
            note(.retransmit(r), at: wallClock.unixNanoseconds(r.header.timestamp))
        case .stateChanged, .reset:
            break
        }
        for record in analyzer.process(event) { add(record) }
    }

    /// Time has come to `now` (CLOCK_MONOTONIC ns) with or without events: the
    /// records past the merge window, the packets past their hold and the
    /// observations before them are written.
    public mutating func tick(at now: UInt64) {
        for record in analyzer.tick(at: now) { add(record) }
        write(annotator.release(at: now))
        writeNotes(upTo: wallClock.unixNanoseconds(now > annotator.hold ? now - annotator.hold : 0))
    }

    /// Captures from `source` for `seconds` (nil: until `stop` returns a
    /// signal) or until a write fails, then detaches it, drains it and
    /// finishes; files are flushed after each poll.
    public mutating func run(_ source: EventSource, seconds: Double?, stop: () -> Int32?) throws {
        try source.trace(seconds: seconds, stop: { stop() != nil }, polled: {
            tick(at: source.now)
            flush()
            return failure == nil
        }) { process($0) }
        finish()
    }

    /// Ends the run: the analyzer's open exchanges, then every packet still held.
    public mutating func finish() {
        for record in analyzer.finish() { add(record) }
        write(annotator.finish())
        for n in notes { jsonOut?.write(n.bytes) }
        notes.removeAll()
        flush()
    }

    public func flush() {
        pcapngOut.flush()
        jsonOut?.flush()
    }

    public enum File { case pcapng, json }

    /// The first write that failed: which file and why (disk full, an I/O error).
    public var failure: (file: File, reason: String)? {
        if let reason = pcapngOut.failure { return (.pcapng, reason) }
        if let reason = jsonOut?.failure { return (.json, reason) }
        return nil
    }

    /// The last line on stderr; `lostEvents`: the probe's count of events lost (ring buffer full).
    public func summary(lostEvents: UInt64) -> String {
        var line = "pipetrace: \(packetsWritten) packets written (\(egress) egress, \(packetsWritten - egress) ingress)"
        line += " on \(pcapng.interfaceCount) interfaces"
        if filter != nil { line += ", \(packetsFilteredOut) filtered out by the expression" }
        line += "; \(records) requests, \(annotator.requestsMarked) marked on their first packet"
        if annotator.requestsMarkedAtEnd > 0 { line += " (\(annotator.requestsMarkedAtEnd) more on their last)" }
        if annotator.requestsUnmarked > 0 { line += " (\(annotator.requestsUnmarked) in the JSON only)" }
        line += ", \(annotator.retransmitsMarked) retransmitted segments marked"
        line += "; \(annotator.receiversNamed) seen at both ends on this host, written once"
        if annotator.piecesDropped > 0 { line += " (\(annotator.piecesDropped) cut in pieces on the way)" }
        line += "; \(lostEvents) events lost (ring buffer full)\n"
        return line
    }

    private mutating func add(_ record: RequestRecord) {
        records += 1
        let record = record.redacted(by: redactor)
        annotator.add(record)
        note(.request(record), at: record.start)
    }

    private mutating func note(_ note: CaptureNote, at time: Int64) {
        guard jsonOut != nil else { return }
        notes.append((time, tracee.encode(note)))
    }

    private mutating func writeNotes(upTo time: Int64) {
        guard jsonOut != nil && !notes.isEmpty else { return }
        notes.sort { $0.time < $1.time }
        let due = notes.prefix { $0.time <= time }
        for n in due { jsonOut?.write(n.bytes) }
        notes.removeFirst(due.count)
    }

    /// The packet with the credentials in its TCP payload masked (same length, checksum updated).
    private func redactedBytes(_ packet: AnnotatedPacket) -> AnnotatedPacket {
        var copy = packet
        return redactor.redactPacket(&copy.event.bytes) > 0 ? copy : packet
    }

    private mutating func write(_ packets: [AnnotatedPacket]) {
        guard !packets.isEmpty else { return }
        for packet in packets {
            writeNotes(upTo: packet.unixNanoseconds) // observations up to this packet's time go first
            let redacted = redactedBytes(packet)
            pcapngOut.write(pcapng.encode(redactPackets ? redacted : packet))
            jsonOut?.write(tracee.encode(redacted))
            packetsWritten += 1
            if packet.event.direction == .egress { egress += 1 }
        }
    }
}
