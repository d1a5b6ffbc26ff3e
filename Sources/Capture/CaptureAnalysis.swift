import Analyzer
import Events
import Foundation
import Packets

/// A capture file's packets through the replay and the analyzer, records
/// out as a file can tell them: without a process.
///
/// Three stages on three threads, because a file is read faster than one
/// core analyzes it: a reader thread reads the file, decodes and reassembles
/// its packets into the probe's events; an analyzer thread turns them into
/// records; the caller's thread hands each record to `handle` (statistics,
/// or JSON for `--watch`). Events and records cross in batches through
/// bounded hand-offs (a stage waits when the next is behind), so memory
/// stays flat; records come out in the same order as from one thread, since
/// each stage is the same pure value run in file order.
public struct CaptureAnalysis {
    public private(set) var replay = CaptureReplay()
    /// The analyzer's counters once the run is over.
    public private(set) var analyzerCounters = AnalyzerCounters()
    /// Why the file could not be read to its end, if it could not.
    public private(set) var readError: String?

    /// Events per batch: the hand-off's lock is taken once per batch (128 measured the same).
    public static let batchSize = 512
    /// Records per batch.
    public static let recordBatchSize = 256
    /// Batches waiting at most, per hand-off: the bound on how far a stage runs ahead (a few MiB).
    public static let batchesWaiting = 16

    public init() {}

    public enum EventBatch: Sendable {
        case events([ProbeEvent])
        /// The reader is done: what it read, and why it stopped early if it did.
        case end(CaptureReplay, readError: String?)
    }

    public enum RecordBatch: Sendable {
        case records([RequestRecord])
        /// The analyzer is done; the reader's end passed on.
        case end(CaptureReplay, AnalyzerCounters, readError: String?)
    }

    /// Reads `source` to its end (or its first error), handing every record to `handle`.
    public mutating func run(_ source: CaptureSource, _ handle: (RequestRecord) -> Void) {
        let events = Channel<EventBatch, [ProbeEvent]>()
        let records = Channel<RecordBatch, [RequestRecord]>()
        Thread { CaptureAnalysis.read(source, into: events) }.start()
        Thread { CaptureAnalysis.analyze(events, into: records) }.start()
        while let batch = records.forward.take() {
            switch batch {
            case .records(var batch):
                // In place: a record copied out of the batch costs a retain and a release per field.
                for index in batch.indices {
                    CaptureAnalysis.forgetProcesses(&batch[index])
                    handle(batch[index])
                }
                records.spent.put(batch)
            case .end(let replay, let counters, let readError):
                self.replay = replay
                analyzerCounters = counters
                self.readError = readError
            }
        }
    }

    /// Batches one way, and the spent arrays back to the thread that filled
    /// them: it empties them for reuse, so what they hold is freed on the
    /// thread that allocated it. (A block freed on another thread takes its
    /// malloc arena's lock, which the allocating thread contends for.)
    private struct Channel<Batch: Sendable, Spent: Sendable> {
        let forward = BatchHandOff<Batch>(capacity: CaptureAnalysis.batchesWaiting)
        /// Never waits: it holds at most the batches the other side took since its last look.
        let spent = BatchHandOff<Spent>(capacity: .max)
    }

    /// An emptied array to fill next: a spent one back from the other side, or a new one.
    private static func nextBuffer<Element>(_ spent: BatchHandOff<[Element]>, capacity: Int) -> [Element] {
        var returned = spent.takeAll()
        var buffer = returned.popLast() ?? []
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(capacity)
        return buffer
    }

    /// The reader thread: packets to events, batch by batch, then the replay's final state.
    private static func read(_ source: CaptureSource, into channel: Channel<EventBatch, [ProbeEvent]>) {
        var replay = CaptureReplay()
        var events = nextBuffer(channel.spent, capacity: batchSize)
        var readError: String?
        do {
            while try source.replayNext(into: &replay, events: &events) {
                if events.count >= batchSize {
                    channel.forward.put(.events(events))
                    events = nextBuffer(channel.spent, capacity: batchSize)
                }
            }
        } catch {
            readError = "\(error)"
        }
        events += replay.finish()
        channel.forward.put(.events(events))
        channel.forward.put(.end(replay, readError: readError))
        channel.forward.close()
    }

    /// The analyzer thread: events to records, batch by batch, then the analyzer's final state.
    private static func analyze(_ events: Channel<EventBatch, [ProbeEvent]>,
                                into channel: Channel<RecordBatch, [RequestRecord]>) {
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(durationOrigin: .requestEnd))
        var records = nextBuffer(channel.spent, capacity: recordBatchSize)
        var end: (CaptureReplay, String?)?
        while let batch = events.forward.take() {
            switch batch {
            case .events(let batch):
                for event in batch {
                    // Completed records go straight into the batch: no array per event.
                    analyzer.process(event, into: &records)
                    if records.count >= recordBatchSize {
                        channel.forward.put(.records(records))
                        records = nextBuffer(channel.spent, capacity: recordBatchSize)
                    }
                }
                events.spent.put(batch)
            case .end(let replay, let readError):
                end = (replay, readError)
            }
        }
        records += analyzer.finish()
        channel.forward.put(.records(records))
        channel.forward.put(.end(end?.0 ?? CaptureReplay(), analyzer.counters, readError: end?.1))
        channel.forward.close()
    }

    /// A capture holds no process: the analyzer's pid 0 and empty comm become unknown (null).
    public static func forgetProcesses(_ record: inout RequestRecord) {
        record.client.pid = nil
        record.client.comm = nil
        record.server.pid = nil
        record.server.comm = nil
    }

    /// What the capture missed, for the top of an HTML report.
    public var warnings: [String] {
        var warnings: [String] = []
        let r = replay.reassembler.counters
        if r.gaps > 0 { warnings.append("The capture missed \(r.gapBytes) bytes in \(r.gaps) places: requests across a gap are incomplete or missing.") }
        if replay.counters.malformed > 0 { warnings.append("\(replay.counters.malformed) malformed packets were skipped.") }
        return warnings
    }

    /// The last line on stderr: what was read, and how much of it the capture missed.
    public var summary: String {
        let p = replay.counters
        let r = replay.reassembler.counters
        var line = "pipetrace: \(p.packets) packets, \(p.tcpSegments) TCP"
        if p.malformed > 0 { line += ", \(p.malformed) malformed skipped (first: \(p.firstMalformed ?? "?"))" }
        if p.fragments > 0 { line += ", \(p.fragments) IP fragments skipped" }
        line += "; \(r.connections) connections (\(r.connectionsAlreadyOpen) already open)"
        line += ", \(r.retransmittedSegments) retransmitted segments, \(r.gaps) gaps (\(r.gapBytes) bytes not captured)"
        line += "; \(analyzerCounters.records) requests; no pid in records (a capture has no processes)\n"
        return line
    }
}
