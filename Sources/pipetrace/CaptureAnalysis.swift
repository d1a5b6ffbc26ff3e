import Analyzer
import Events
import Packets

/// A capture file's packets through the replay and the analyzer, records
/// out as a file can tell them: without a process.
struct CaptureAnalysis {
    private(set) var replay = CaptureReplay()
    private(set) var analyzer = Analyzer(configuration: AnalyzerConfiguration(durationOrigin: .requestEnd))

    /// The packet's events; emptied and reused for each packet.
    private var events: [ProbeEvent] = []

    mutating func process(_ packet: CapturedPacket, _ handle: (RequestRecord) -> Void) {
        events.removeAll(keepingCapacity: true)
        replay.process(packet, into: &events)
        for event in events {
            for record in analyzer.process(event) { handle(CaptureAnalysis.fromFile(record)) }
        }
    }

    mutating func finish(_ handle: (RequestRecord) -> Void) {
        for event in replay.finish() {
            for record in analyzer.process(event) { handle(CaptureAnalysis.fromFile(record)) }
        }
        for record in analyzer.finish() { handle(CaptureAnalysis.fromFile(record)) }
    }

    /// A capture holds no process: the analyzer's pid 0 and empty comm become unknown (null).
    static func fromFile(_ record: RequestRecord) -> RequestRecord {
        var record = record
        for path in [\RequestRecord.client, \RequestRecord.server] {
            record[keyPath: path].pid = nil
            record[keyPath: path].comm = nil
        }
        return record
    }

    /// The last line on stderr: what was read, and how much of it the capture missed.
    var summary: String {
        let p = replay.counters
        let r = replay.reassembler.counters
        var line = "pipetrace: \(p.packets) packets, \(p.tcpSegments) TCP"
        if p.malformed > 0 { line += ", \(p.malformed) malformed skipped (first: \(p.firstMalformed ?? "?"))" }
        if p.fragments > 0 { line += ", \(p.fragments) IP fragments skipped" }
        line += "; \(r.connections) connections (\(r.connectionsAlreadyOpen) already open)"
        line += ", \(r.retransmittedSegments) retransmitted segments, \(r.gaps) gaps (\(r.gapBytes) bytes not captured)"
        line += "; \(analyzer.counters.records) requests; no pid in records (a capture has no processes)\n"
        return line
    }
}
