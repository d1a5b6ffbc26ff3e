import Analyzer
import Events
import Foundation
import Packets

/// A capture file's packets through the replay and the analyzer, records
/// out as a file can tell them: without a process.
///
/// Two stages on two threads, because a file is read faster than one core
/// analyzes it: a reader thread reads the file, decodes and reassembles its
/// packets into the probe's events and hands them over in batches; the
/// caller's thread runs the analyzer and `handle`. The hand-off is bounded
/// (the reader waits when the analyzer is behind), so memory stays flat;
/// records come out in the same order as from one thread, since each stage
/// is the same pure value run in file order.
struct CaptureAnalysis {
    private(set) var replay = CaptureReplay()
    private(set) var analyzer = Analyzer(configuration: AnalyzerConfiguration(durationOrigin: .requestEnd))
    /// Why the file could not be read to its end, if it could not.
    private(set) var readError: String?

    /// Events per batch: the hand-off's lock is taken once per batch (128 measured the same).
    static let batchSize = 512
    /// Batches waiting at most: the bound on what the reader runs ahead (a few MiB).
    static let batchesWaiting = 16

    enum Batch: Sendable {
        case events([ProbeEvent])
        /// The reader is done: what it read, and why it stopped early if it did.
        case end(CaptureReplay, readError: String?)
    }

    /// Reads `source` to its end (or its first error), handing every record to `handle`.
    mutating func run(_ source: CaptureSource, _ handle: (RequestRecord) -> Void) {
        let handOff = BatchHandOff<Batch>(capacity: CaptureAnalysis.batchesWaiting)
        Thread { CaptureAnalysis.read(source, into: handOff) }.start()
        while let batch = handOff.take() {
            switch batch {
            case .events(let events):
                for event in events {
                    for record in analyzer.process(event) { handle(CaptureAnalysis.fromFile(record)) }
                }
            case .end(let replay, let readError):
                self.replay = replay
                self.readError = readError
            }
        }
        for record in analyzer.finish() { handle(CaptureAnalysis.fromFile(record)) }
    }

    /// The reader thread: packets to events, batch by batch, then the replay's final state.
    private static func read(_ source: CaptureSource, into handOff: BatchHandOff<Batch>) {
        var replay = CaptureReplay()
        var packet = CapturedPacket(timestamp: 0, linkType: .raw, bytes: [])
        var events: [ProbeEvent] = []
        events.reserveCapacity(batchSize)
        var readError: String?
        do {
            while try source.next(into: &packet) {
                replay.process(packet, into: &events)
                if events.count >= batchSize {
                    handOff.put(.events(events))
                    events = []
                    events.reserveCapacity(batchSize)
                }
            }
        } catch {
            readError = "\(error)"
        }
        events += replay.finish()
        handOff.put(.events(events))
        handOff.put(.end(replay, readError: readError))
        handOff.close()
    }

    /// A capture holds no process: the analyzer's pid 0 and empty comm become unknown (null).
    static func fromFile(_ record: RequestRecord) -> RequestRecord {
        var record = record
        record.client.pid = nil
        record.client.comm = nil
        record.server.pid = nil
        record.server.comm = nil
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
